## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: stuur een nieuw clientgeheim voor { $tenant }
mail-request-subject-automatic = { $vendor }: vóór { $date } is een nieuw clientgeheim voor { $tenant } nodig
mail-hello = Hallo,
mail-request-intro = { $vendor } vraagt u om een nieuw clientgeheim voor de app-registratie waarmee { $vendor } zich aanmeldt bij uw Microsoft Entra ID-tenant.
mail-request-intro-automatic = Het clientgeheim waarmee { $vendor } zich aanmeldt bij uw Microsoft Entra ID-tenant verloopt op { $date }. Maak vóór die datum een nieuw aan en stuur het via de link hieronder, zodat niets stopt met werken.
mail-request-step-link = Open deze link en plak de waarde daar:
mail-request-checked = De pagina controleert het geheim bij Microsoft voordat het wordt aangenomen, en het gaat rechtstreeks naar de configuratie van { $vendor }: niemand hoeft het te zien. Beantwoord dit bericht niet met het geheim.
mail-request-once = De link geldt alleen voor deze aanvraag. Had u dit bericht niet verwacht, negeer het dan: er gebeurt niets zolang niemand via de link antwoordt.
