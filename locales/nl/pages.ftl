## Every page
footer-encrypted = Geheimen worden versleuteld met een sleutel die alleen de link bevat, en verwijderd zodra ze zijn getoond of verlopen.
language-switch = Taal
support-contact = Vragen? Neem contact op met { $vendor }:
note-from = Bericht van { $vendor }
optional = (optioneel)
copy = Kopiëren
share = Delen…

## Error pages
not-found-title = Pagina niet gevonden
not-found-body = Op dit adres staat niets.
go-home = Naar de startpagina
error-title = Er ging iets mis

## Push: the create form
create-title = Een geheim delen
create-heading = Een geheim eenmalig delen
create-lead = Plak een geheim, bijvoorbeeld een clientgeheim uit Entra ID. U krijgt een link die het een vast aantal keren toont; daarna wordt het geheim verwijderd.
field-secret = Geheim
field-secret-hint = Het wordt versleuteld voordat het wordt opgeslagen. Alleen de link die u zo krijgt, kan het ontsleutelen.
field-ttl = Link verloopt na
field-views = Aantal weergaven
field-views-hint = Elke keer tonen kost één weergave. Hooguit { $max }.
field-passphrase = Wachtwoordzin
field-passphrase-hint = De ontvanger moet die invoeren voordat het geheim wordt getoond. Stuur hem via een ander kanaal dan de link, bijvoorbeeld telefonisch. Te veel foute pogingen vernietigen het geheim.
field-note = Bericht voor de ontvanger
field-note-hint = Getoond aan de ontvanger voor en na het tonen van het geheim, bijvoorbeeld bij welke app-registratie het hoort. Zet het geheim hier niet in.
create-button = Link maken
form-error-summary = De link is niet gemaakt. Controleer het veld dat hieronder is gemarkeerd.
form-error-secret = Plak hier het geheim; het mag niet leeg zijn.
form-error-secret-too-large = Dit geheim is te groot: hooguit { $max } bytes.
form-error-ttl = Kies een van de aangeboden verlooptijden.
form-error-views = Voer een geheel getal van 1 tot en met { $max } in.
form-error-passphrase = Deze wachtwoordzin is niet bruikbaar: gebruik 1 tot 1024 tekens.
form-error-note = Het bericht is te lang of bevat tekens die niet getoond kunnen worden: hooguit 500 tekens.
ttl-hours = { $count ->
    [one] { $count } uur
   *[other] { $count } uur
}
ttl-days = { $count ->
    [one] { $count } dag
   *[other] { $count } dagen
}

## Push: the result page
created-title = Link gemaakt
created-heading = Uw link is klaar
created-link = Link voor de ontvanger
created-link-hint = { $views ->
    [one] Stuur deze link naar de ontvanger. Hij werkt één keer en verloopt { $expires }.
   *[other] Stuur deze link naar de ontvanger. Hij werkt { $views } keer en verloopt { $expires }.
} De hele link is nodig, ook het deel na #.
created-qr = QR-code van de link, om hem op een telefoon te openen
created-passphrase = Stuur de wachtwoordzin apart, via een ander kanaal dan de link. Zonder die zin toont de link het geheim niet.
manage-heading = Houd dit voor uzelf: uw beheerlink
manage-link = Beheerlink
manage-hint = Hij laat zien wanneer en vanaf waar het geheim is getoond, en laat u het verwijderen voordat het wordt gebruikt. Stuur hem niet naar de ontvanger.
create-another = Nog een maken

## The recipient's page
reveal-title = Een geheim tonen
checking-link = De link wordt gecontroleerd…
ready-heading = Iemand heeft een geheim met u gedeeld
fact-expires = Verloopt
fact-views = Weergaven
fact-created = Gemaakt
fact-ended = Beëindigd
fact-failed = Foute wachtwoordzinnen
recipient-passphrase-hint = De afzender hoort die los van de link aan u te hebben gegeven.
reveal-button = Geheim tonen
reveal-hint = Tonen kost een van de resterende weergaven. Deze pagina openen niet.
revealed-heading = Het geheim
delete-remaining = De resterende weergaven verwijderen
gone-heading = Dit geheim is niet beschikbaar

## The sender's manage page
status-title = Status van het geheim
loading-status = De status wordt geladen…
reveals-heading = Weergaven
activity-heading = Activiteit
col-time = Tijd
col-ip = IP-adres
col-browser = Browser
col-event = Gebeurtenis
col-by = Door
refresh = Vernieuwen
delete-now = Nu verwijderen

## Browser-side messages
js-network = De server is niet bereikbaar. Controleer uw verbinding en probeer het opnieuw.
js-generic = Er ging iets mis; probeer het opnieuw.
js-unknown-time = Onbekend
js-now = nu
js-in-less-than-a-minute = binnen een minuut
js-copied = Gekopieerd
js-copy-failed = Kopiëren mislukt
js-copied-announce = Naar het klembord gekopieerd.
js-copy-failed-announce = Automatisch kopiëren lukte niet. De tekst is geselecteerd; kopieer hem met het toetsenbord of het menu.
js-incomplete = Deze link is onvolledig: het deel na # ontbreekt. Vraag de afzender de hele link te kopiëren.
js-not-found = Deze link is niet geldig: het geheim is al getoond, is verlopen, of de link is onvolledig.
js-revoked = De afzender heeft dit geheim verwijderd.
js-applied = Dit geheim is in de configuratie van een klant gezet en hier verwijderd.
js-applied-at = Dit geheim is om { $time } in de configuratie van een klant gezet en hier verwijderd.
js-destroyed = Dit geheim is vernietigd na te veel foute wachtwoordzinnen.
js-destroyed-now = Te veel foute wachtwoordzinnen: het geheim is vernietigd.
js-passphrase-required = Dit geheim is beveiligd met een wachtwoordzin. De afzender hoort die los van de link aan u te hebben gegeven.
js-deleted = Dit geheim is nu van de server verwijderd. Bewaar het nu waar het hoort; deze pagina toont het niet nog eens.
js-unconfirmed = De server kon het tonen niet bevestigen. Klik opnieuw op Tonen: binnen een minuut krijgt u hetzelfde geheim.
js-already-revealed = Dit geheim is al getoond. Was u dat niet, dan is de link onderschept: vraag de afzender om een nieuw geheim.
js-already-revealed-at = Dit geheim is al om { $time } getoond. Was u dat niet, dan is de link onderschept: vraag de afzender om een nieuw geheim.
js-revealed-at = U hebt dit om { $time } getoond; het is van de server verwijderd.
js-revealed-remaining = U hebt dit om { $time } getoond. Het blijft tot de weergaven op zijn of het verloopt.
js-revealing = Bezig met tonen…
js-wrong-passphrase = Foute wachtwoordzin.
js-wrong-passphrase-left-one = Foute wachtwoordzin. Nog { $count } poging voordat het geheim wordt vernietigd.
js-wrong-passphrase-left-other = Foute wachtwoordzin. Nog { $count } pogingen voordat het geheim wordt vernietigd.
js-views-of-one = Nog { $left } van { $allowed } weergave
js-views-of-other = Nog { $left } van { $allowed } weergaven
js-more-views-one = Er is nog { $count } weergave. Iedereen met de hele link kan die gebruiken tot de link verloopt.
js-more-views-other = Er zijn nog { $count } weergaven. Iedereen met de hele link kan ze gebruiken tot de link verloopt.
js-delete-remaining-confirm = Dit geheim nu verwijderen, met de resterende weergaven? De link werkt dan voor niemand meer.
js-deleted-remaining = Verwijderd: de link werkt voor niemand meer.
js-manage-incomplete = Deze beheerlink is onvolledig: het deel na # ontbreekt. Kopieer de hele beheerlink.
js-manage-gone = Dit geheim is verlopen en de gegevens zijn verwijderd, of de beheerlink is onvolledig.
js-confirm-delete = Dit geheim nu verwijderen? De link werkt meteen niet meer. Dit kan niet ongedaan worden gemaakt.
js-state-live = Wacht op tonen
js-state-revealed = Getoond — van de server verwijderd
js-state-revoked = Door u verwijderd
js-state-destroyed = Vernietigd na te veel foute wachtwoordzinnen
js-no-reveals = Nog niemand heeft het getoond.
js-views-used-one = { $used } van { $allowed } weergave gebruikt
js-views-used-other = { $used } van { $allowed } weergaven gebruikt
js-event-created = Gemaakt
js-event-viewed = Link geopend
js-event-revealed = Getoond
js-event-passphrase-failed = Foute wachtwoordzin
js-event-destroyed = Vernietigd
js-event-revoked = Verwijderd
js-event-expired = Ongelezen verlopen
js-you = u
js-someone = de ontvanger
js-browser-on = { $browser } op { $os }

## The customer's request page
req-title = Nieuw clientgeheim
req-asks = { $vendor } vraagt om een nieuw clientgeheim
req-lead = Het is voor deze app-registratie in Microsoft Entra ID:
req-tenant = Klant
req-entra-tenant = Entra-tenant
req-client-id = App (client-ID)
req-link-expires = Deze link verloopt
req-copy-tenant = Tenant kopiëren
req-copy-client-id = Client-ID kopiëren
req-what-to-do = Wat u doet
req-step-sign-in = Meld u aan bij het Microsoft Entra-beheercentrum als beheerder van deze tenant:
req-step-open-app = Ga naar Toepassingen → App-registraties → Alle toepassingen en open de app met deze toepassings-ID (client):
req-step-new-secret = Open Certificaten en geheimen → Clientgeheimen → Nieuw clientgeheim; kies een verlooptijd.
req-step-direct = Of ga er direct heen:
req-step-direct-link = Certificaten en geheimen van deze app
req-step-copy-value = Kopieer meteen de kolom Waarde: die wordt maar één keer getoond. Niet de geheim-ID.
req-step-paste = Plak hem hieronder.
req-field-secret = Waarde van het clientgeheim
req-field-expiry = Geheim verloopt over
req-field-expiry-note = (zoals gekozen in stap 3)
req-expiry-unknown = Weet ik niet
req-expiry-days = { $days } dagen ({ $months } maanden)
req-expiry-custom = Eigen datum
req-expiry-hint = Zodat er op tijd om een nieuw geheim kan worden gevraagd, voordat dit niet meer werkt.
req-field-expiry-date = Verloopdatum
req-field-secret-id = Geheim-ID, voor de administratie
req-secret-id-hint = De GUID in de kolom Geheim-ID, naast de waarde. Die is niet geheim; hij onderscheidt geheimen van elkaar.
req-submit = Controleren en versturen
req-accepted-heading = Bedankt: het geheim is ontvangen
req-close = U kunt deze pagina sluiten.
req-closed-heading = Hier is niets te doen
js-req-asks = { $vendor } vraagt om een nieuw clientgeheim
