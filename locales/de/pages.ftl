## Every page
site-title = { $vendor }
footer-encrypted = Geheimnisse werden mit einem Schlüssel verschlüsselt, den nur der Link enthält, und nach dem Anzeigen oder Ablauf gelöscht.
language-switch = Sprache
support-contact = Fragen? Wenden Sie sich an { $vendor }:
note-from = Hinweis von { $vendor }

## Error pages
not-found-title = Seite nicht gefunden
not-found-body = Unter dieser Adresse gibt es nichts.
go-home = Zur Startseite
error-title = Etwas ist schiefgelaufen

## Counts
views-left = { $count ->
    [one] { $count } Ansicht übrig
   *[other] { $count } Ansichten übrig
}

## Browser-side messages
js-revealed-at = Sie haben dies um { $time } angezeigt; es ist vom Server gelöscht.
