# Pages customers and recipients see. Every language has these messages with
# the same variables; a unit test in src/locale.rs fails otherwise.
# $vendor is the vendor's name from the settings.

## Every page
site-title = { $vendor }
footer-encrypted = Secrets are encrypted with a key that only the link holds, and deleted once revealed or expired.
language-switch = Language
support-contact = Questions? Contact { $vendor }:
note-from = Note from { $vendor }

## Error pages
not-found-title = Page not found
not-found-body = There is nothing at this address.
go-home = Go to the start page
error-title = Something went wrong

## Counts
views-left = { $count ->
    [one] { $count } view left
   *[other] { $count } views left
}

## Browser-side messages (static/*.js); { $name } becomes {name} for the script
js-revealed-at = You revealed this at { $time }; it is deleted from the server.
