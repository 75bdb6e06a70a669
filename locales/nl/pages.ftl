## Every page
site-title = { $vendor }
footer-encrypted = Geheimen worden versleuteld met een sleutel die alleen de link bevat, en verwijderd zodra ze zijn getoond of verlopen.
language-switch = Taal
support-contact = Vragen? Neem contact op met { $vendor }:
note-from = Bericht van { $vendor }

## Error pages
not-found-title = Pagina niet gevonden
not-found-body = Op dit adres staat niets.
go-home = Naar de startpagina
error-title = Er ging iets mis

## Counts
views-left = { $count ->
    [one] Nog { $count } weergave
   *[other] Nog { $count } weergaven
}

## Browser-side messages
js-revealed-at = U hebt dit om { $time } getoond; het is van de server verwijderd.
