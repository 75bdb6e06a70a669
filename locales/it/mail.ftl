## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: invia un nuovo segreto client per { $tenant }
mail-request-subject-automatic = { $vendor }: serve un nuovo segreto client per { $tenant } prima del { $date }
mail-hello = Buongiorno,
mail-request-intro = { $vendor } ti chiede un nuovo segreto client per la registrazione dell’app con cui { $vendor } accede al tuo tenant Microsoft Entra ID.
mail-request-intro-automatic = Il segreto client con cui { $vendor } accede al tuo tenant Microsoft Entra ID scade il { $date }. Creane uno nuovo prima di allora e invialo tramite il link qui sotto, così che nulla smetta di funzionare.
mail-request-step-link = Apri questo link e incolla lì il valore:
mail-request-checked = La pagina verifica il segreto con Microsoft prima di accettarlo, e va direttamente nella configurazione di { $vendor }: nessuno deve vederlo. Non rispondere a questo messaggio con il segreto.
mail-request-once = Il link vale solo per questa richiesta. Se non ti aspettavi questo messaggio, ignoralo: non succede nulla finché nessuno risponde tramite il link.
