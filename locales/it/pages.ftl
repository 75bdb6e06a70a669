## Every page
footer-encrypted = I segreti sono cifrati con una chiave contenuta solo nel link ed eliminati dopo la visualizzazione o la scadenza.
language-switch = Lingua
support-contact = Domande? Contatta { $vendor }:
note-from = Nota di { $vendor }
optional = (facoltativo)
copy = Copia
share = Condividi…

## Error pages
not-found-title = Pagina non trovata
not-found-body = Non c’è niente a questo indirizzo.
go-home = Vai alla pagina iniziale
error-title = Qualcosa è andato storto

## Push: the create form
create-title = Condividi un segreto
create-heading = Condividi un segreto una sola volta
create-lead = Incolla un segreto, per esempio un segreto client di Entra ID. Ricevi un link che lo mostra un numero stabilito di volte; poi il segreto viene eliminato.
field-secret = Segreto
field-secret-hint = Viene cifrato prima di essere salvato. Solo il link che riceverai può decifrarlo.
field-ttl = Il link scade dopo
field-views = Numero di visualizzazioni
field-views-hint = Ogni visualizzazione ne consuma una. Al massimo { $max }.
field-passphrase = Passphrase
field-passphrase-hint = Il destinatario deve inserirla prima di vedere il segreto. Inviala con un canale diverso dal link, per esempio per telefono. Troppi tentativi errati distruggono il segreto.
field-note = Nota per il destinatario
field-note-hint = Mostrata al destinatario prima e dopo la visualizzazione, per esempio a quale registrazione dell’app appartiene. Non scrivere qui il segreto.
create-button = Crea link
form-error-summary = Il link non è stato creato. Controlla il campo segnalato qui sotto.
form-error-secret = Incolla qui il segreto; non può essere vuoto.
form-error-secret-too-large = Questo segreto è troppo grande: al massimo { $max } byte.
form-error-ttl = Scegli una delle scadenze proposte.
form-error-views = Inserisci un numero intero da 1 a { $max }.
form-error-passphrase = Questa passphrase non è utilizzabile: usa da 1 a 1024 caratteri.
form-error-note = La nota è troppo lunga o contiene caratteri non visualizzabili: al massimo 500 caratteri.
ttl-hours = { $count ->
    [one] { $count } ora
   *[other] { $count } ore
}
ttl-days = { $count ->
    [one] { $count } giorno
   *[other] { $count } giorni
}

## Push: the result page
created-title = Link creato
created-heading = Il tuo link è pronto
created-link = Link per il destinatario
created-link-hint = { $views ->
    [one] Invia questo link al destinatario. Funziona una volta e scade { $expires }.
   *[other] Invia questo link al destinatario. Funziona { $views } volte e scade { $expires }.
} Serve il link intero, compresa la parte dopo #.
created-qr = Codice QR del link, per aprirlo su un telefono
created-passphrase = Invia la passphrase a parte, con un canale diverso dal link. Senza di essa il link non mostra il segreto.
manage-heading = Tienilo per te: il tuo link di gestione
manage-link = Link di gestione
manage-hint = Mostra quando e da dove è stato visualizzato il segreto e ti permette di eliminarlo prima che venga usato. Non inviarlo al destinatario.
create-another = Creane un altro

## The recipient's page
reveal-title = Visualizza un segreto
checking-link = Verifica del link…
ready-heading = Qualcuno ha condiviso un segreto con te
fact-expires = Scade
fact-views = Visualizzazioni
fact-created = Creato
fact-ended = Terminato
fact-failed = Passphrase errate
recipient-passphrase-hint = Il mittente dovrebbe avertela data separatamente dal link.
reveal-button = Mostra il segreto
reveal-hint = Mostrarlo consuma una delle visualizzazioni rimaste. Aprire questa pagina no.
revealed-heading = Il segreto
delete-remaining = Elimina le visualizzazioni rimaste
gone-heading = Questo segreto non è disponibile

## The sender's manage page
status-title = Stato del segreto
loading-status = Caricamento dello stato…
reveals-heading = Visualizzazioni
activity-heading = Attività
col-time = Ora
col-ip = Indirizzo IP
col-browser = Browser
col-event = Evento
col-by = Da
refresh = Aggiorna
delete-now = Elimina ora

## Browser-side messages
js-network = Impossibile raggiungere il server. Controlla la connessione e riprova.
js-generic = Qualcosa è andato storto; riprova.
js-unknown-time = Sconosciuta
js-now = ora
js-in-less-than-a-minute = tra meno di un minuto
js-copied = Copiato
js-copy-failed = Copia non riuscita
js-copied-announce = Copiato negli appunti.
js-copy-failed-announce = Impossibile copiare automaticamente. Il testo è selezionato; copialo con la tastiera o il menu.
js-incomplete = Questo link è incompleto: manca la parte dopo #. Chiedi al mittente di copiare il link intero.
js-not-found = Questo link non è valido: il segreto è già stato visualizzato, è scaduto o il link è incompleto.
js-revoked = Il mittente ha eliminato questo segreto.
js-applied = Questo segreto è stato applicato alla configurazione di un cliente ed eliminato qui.
js-applied-at = Questo segreto è stato applicato alla configurazione di un cliente alle { $time } ed eliminato qui.
js-destroyed = Questo segreto è stato distrutto dopo troppe passphrase errate.
js-destroyed-now = Troppe passphrase errate: il segreto è stato distrutto.
js-passphrase-required = Questo segreto è protetto da una passphrase. Il mittente dovrebbe avertela data separatamente dal link.
js-deleted = Questo segreto ora è eliminato dal server. Conservalo subito dove deve stare; questa pagina non lo mostrerà più.
js-unconfirmed = Il server non ha potuto confermare la visualizzazione. Fai di nuovo clic su Mostra: entro un minuto ottieni lo stesso segreto.
js-already-revealed = Questo segreto è già stato visualizzato. Se non sei stato tu, il link è stato intercettato: chiedi al mittente un nuovo segreto.
js-already-revealed-at = Questo segreto è già stato visualizzato alle { $time }. Se non sei stato tu, il link è stato intercettato: chiedi al mittente un nuovo segreto.
js-revealed-at = L’hai visualizzato alle { $time }; è stato eliminato dal server.
js-revealed-remaining = L’hai visualizzato alle { $time }. Resta finché le visualizzazioni non finiscono o non scade.
js-revealing = Visualizzazione…
js-wrong-passphrase = Passphrase errata.
js-wrong-passphrase-left-one = Passphrase errata. Resta { $count } tentativo prima che il segreto venga distrutto.
js-wrong-passphrase-left-other = Passphrase errata. Restano { $count } tentativi prima che il segreto venga distrutto.
js-views-of-one = { $left } di { $allowed } visualizzazione rimasta
js-views-of-other = { $left } di { $allowed } visualizzazioni rimaste
js-more-views-one = Resta { $count } visualizzazione. Chiunque abbia il link intero può usarla fino alla scadenza.
js-more-views-other = Restano { $count } visualizzazioni. Chiunque abbia il link intero può usarle fino alla scadenza.
js-delete-remaining-confirm = Eliminare ora questo segreto con le visualizzazioni rimaste? Il link smetterà di funzionare per tutti.
js-deleted-remaining = Eliminato: il link non funziona più per nessuno.
js-manage-incomplete = Questo link di gestione è incompleto: manca la parte dopo #. Copia il link di gestione intero.
js-manage-gone = Questo segreto è scaduto e i suoi dati sono stati eliminati, oppure il link di gestione è incompleto.
js-confirm-delete = Eliminare ora questo segreto? Il link smette subito di funzionare. Non si può annullare.
js-state-live = In attesa di visualizzazione
js-state-revealed = Visualizzato — eliminato dal server
js-state-revoked = Eliminato da te
js-state-destroyed = Distrutto dopo troppe passphrase errate
js-no-reveals = Nessuno l’ha ancora visualizzato.
js-views-used-one = { $used } di { $allowed } visualizzazione usata
js-views-used-other = { $used } di { $allowed } visualizzazioni usate
js-event-created = Creato
js-event-viewed = Link aperto
js-event-revealed = Visualizzato
js-event-passphrase-failed = Passphrase errata
js-event-destroyed = Distrutto
js-event-revoked = Eliminato
js-event-expired = Scaduto senza lettura
js-you = tu
js-someone = il destinatario
js-browser-on = { $browser } su { $os }

## The customer's request page
req-title = Nuovo segreto client
req-asks = { $vendor } chiede un nuovo segreto client
req-lead = È per questa registrazione dell’app in Microsoft Entra ID:
req-tenant = Cliente
req-entra-tenant = Tenant Entra
req-client-id = App (ID client)
req-link-expires = Questo link scade
req-copy-tenant = Copia il tenant
req-copy-client-id = Copia l’ID client
req-what-to-do = Cosa fare
req-step-sign-in = Accedi all’interfaccia di amministrazione di Microsoft Entra come amministratore di questo tenant:
req-step-open-app = Vai in Applicazioni → Registrazioni app → Tutte le applicazioni e apri l’app con questo ID applicazione (client):
req-step-new-secret = Apri Certificati e segreti → Segreti client → Nuovo segreto client; scegli una scadenza.
req-step-direct = Oppure vai direttamente:
req-step-direct-link = Certificati e segreti di questa app
req-step-copy-value = Copia subito la colonna Valore: viene mostrata una sola volta. Non l’ID segreto.
req-step-paste = Incollalo qui sotto.
req-field-secret = Valore del segreto client
req-field-expiry = Il segreto scade tra
req-field-expiry-note = (come scelto al passo 3)
req-expiry-unknown = Non lo so
req-expiry-days = { $days } giorni ({ $months } mesi)
req-expiry-custom = Data personalizzata
req-expiry-hint = Così si può chiedere un nuovo segreto prima che questo smetta di funzionare.
req-field-expiry-date = Data di scadenza
req-field-secret-id = ID segreto, per riferimento
req-secret-id-hint = Il GUID nella colonna ID segreto, accanto al valore. Non è segreto; serve a distinguere i segreti.
req-submit = Verifica e invia
req-accepted-heading = Grazie: il segreto è stato ricevuto
req-close = Puoi chiudere questa pagina.
req-closed-heading = Niente da fare qui
js-req-asks = { $vendor } chiede un nuovo segreto client
