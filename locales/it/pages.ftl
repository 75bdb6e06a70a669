## Every page
site-title = { $vendor }
footer-encrypted = I segreti sono cifrati con una chiave contenuta solo nel link ed eliminati dopo la visualizzazione o la scadenza.
language-switch = Lingua
support-contact = Domande? Contatta { $vendor }:
note-from = Nota di { $vendor }

## Error pages
not-found-title = Pagina non trovata
not-found-body = Non c’è niente a questo indirizzo.
go-home = Vai alla pagina iniziale
error-title = Qualcosa è andato storto

## Counts
views-left = { $count ->
    [one] { $count } visualizzazione rimasta
   *[other] { $count } visualizzazioni rimaste
}

## Browser-side messages
js-revealed-at = L’hai visualizzato alle { $time }; è stato eliminato dal server.
