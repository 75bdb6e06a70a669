# Pages customers and recipients see. Every language has these messages with
# the same variables; a unit test in src/locale.rs fails otherwise.
# $vendor is the vendor's name from the settings; every message may use it.

## Every page
footer-encrypted = Secrets are encrypted with a key that only the link holds, and deleted once revealed or expired.
language-switch = Language
support-contact = Questions? Contact { $vendor }:
note-from = Note from { $vendor }
optional = (optional)
copy = Copy
share = Share…

## Error pages
not-found-title = Page not found
not-found-body = There is nothing at this address.
go-home = Go to the start page
error-title = Something went wrong

## Push: the create form
create-title = Share a secret
create-heading = Share a secret once
create-lead = Paste a secret, such as an Entra ID client secret. You get a link that reveals it a set number of times, then the secret is deleted.
field-secret = Secret
field-secret-hint = It is encrypted before it is stored. Only the link you get next can decrypt it.
field-ttl = Link expires after
field-views = Number of views
field-views-hint = Each reveal uses one view. At most { $max }.
field-passphrase = Passphrase
field-passphrase-hint = The recipient must enter it before the secret is shown. Send it through a different channel than the link, for example by phone. Too many wrong attempts destroy the secret.
field-note = Note for the recipient
field-note-hint = Shown to the recipient before and after they reveal the secret, for example which app registration it belongs to. Don't put the secret here.
create-button = Create link
form-error-summary = The link was not created. Check the field marked below.
form-error-secret = Paste the secret here; it cannot be empty.
form-error-secret-too-large = This secret is too large: at most { $max } bytes.
form-error-ttl = Choose one of the offered expiry times.
form-error-views = Enter a whole number from 1 to { $max }.
form-error-passphrase = This passphrase cannot be used: use 1 to 1024 characters.
form-error-note = The note is too long or holds characters that cannot be shown: at most 500 characters.
ttl-hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}
ttl-days = { $count ->
    [one] { $count } day
   *[other] { $count } days
}

## Push: the result page
created-title = Link created
created-heading = Your link is ready
created-link = Link for the recipient
created-link-hint = { $views ->
    [one] Send this link to the recipient. It works once and expires { $expires }.
   *[other] Send this link to the recipient. It works { $views } times and expires { $expires }.
} The whole link is needed, including the part after #.
created-qr = QR code of the link, to open it on a phone
created-passphrase = Send the passphrase separately, through a different channel than the link. Without it, the link does not reveal the secret.
manage-heading = Keep this private: your manage link
manage-link = Manage link
manage-hint = It shows when the secret was revealed and from where, and lets you delete the secret before it is used. Don't send it to the recipient.
create-another = Create another

## The recipient's page
reveal-title = Reveal a secret
checking-link = Checking the link…
ready-heading = Someone shared a secret with you
fact-expires = Expires
fact-views = Views
fact-created = Created
fact-ended = Ended
fact-failed = Wrong passphrases
recipient-passphrase-hint = The sender should have given it to you separately from the link.
reveal-button = Reveal secret
reveal-hint = Revealing uses one of the remaining views. Opening this page does not.
revealed-heading = The secret
delete-remaining = Delete the remaining views
gone-heading = This secret is not available

## The sender's manage page
status-title = Secret status
loading-status = Loading the status…
reveals-heading = Reveals
activity-heading = Activity
col-time = Time
col-ip = IP address
col-browser = Browser
col-event = Event
col-by = By
refresh = Refresh
delete-now = Delete now

## Browser-side messages (static/*.js). A variable { $name } reaches the
## script as {name}; messages ending in -one / -other are plural forms.
js-network = Could not reach the server. Check your connection and try again.
js-generic = Something went wrong; try again.
js-unknown-time = Unknown
js-now = now
js-in-less-than-a-minute = in less than a minute
js-copied = Copied
js-copy-failed = Copy failed
js-copied-announce = Copied to the clipboard.
js-copy-failed-announce = Could not copy automatically. The text is selected; copy it with your keyboard or menu.
js-incomplete = This link is incomplete: the part after # is missing. Ask the sender to copy the whole link.
js-not-found = This link is not valid: the secret was already revealed, has expired, or the link is incomplete.
js-revoked = The sender deleted this secret.
js-applied = This secret was applied to a tenant's configuration and deleted here.
js-applied-at = This secret was applied to a tenant's configuration at { $time } and deleted here.
js-destroyed = This secret was destroyed after too many wrong passphrases.
js-destroyed-now = Too many wrong passphrases: the secret was destroyed.
js-passphrase-required = This secret is protected by a passphrase. The sender should have given it to you separately from the link.
js-deleted = This secret is now deleted from the server. Store it where it belongs now; this page won't show it again.
js-unconfirmed = The server could not confirm the reveal. Click Reveal again: within a minute you get the same secret.
js-already-revealed = This secret was already revealed. If that was not you, the link was intercepted: ask the sender for a new secret.
js-already-revealed-at = This secret was already revealed at { $time }. If that was not you, the link was intercepted: ask the sender for a new secret.
js-revealed-at = You revealed this at { $time }; it is deleted from the server.
js-revealed-remaining = You revealed this at { $time }. It stays until its views are used or it expires.
js-revealing = Revealing…
js-wrong-passphrase = Wrong passphrase.
js-wrong-passphrase-left-one = Wrong passphrase. { $count } attempt left before the secret is destroyed.
js-wrong-passphrase-left-other = Wrong passphrase. { $count } attempts left before the secret is destroyed.
js-views-of-one = { $left } of { $allowed } view left
js-views-of-other = { $left } of { $allowed } views left
js-more-views-one = { $count } more view remains. Anyone with the full link can use it until the link expires.
js-more-views-other = { $count } more views remain. Anyone with the full link can use them until the link expires.
js-delete-remaining-confirm = Delete this secret now, with its remaining views? The link stops working for everyone.
js-deleted-remaining = Deleted: the link no longer works for anyone.
js-manage-incomplete = This manage link is incomplete: the part after # is missing. Copy the whole manage link.
js-manage-gone = This secret has expired and its record is deleted, or the manage link is incomplete.
js-confirm-delete = Delete this secret now? The link stops working immediately. This cannot be undone.
js-state-live = Waiting to be revealed
js-state-revealed = Revealed — deleted from the server
js-state-revoked = Deleted by you
js-state-destroyed = Destroyed after too many wrong passphrases
js-no-reveals = No one has revealed it yet.
js-views-used-one = { $used } of { $allowed } view used
js-views-used-other = { $used } of { $allowed } views used
js-event-created = Created
js-event-viewed = Link opened
js-event-revealed = Revealed
js-event-passphrase-failed = Wrong passphrase
js-event-destroyed = Destroyed
js-event-revoked = Deleted
js-event-expired = Expired unread
js-you = you
js-someone = the recipient
js-browser-on = { $browser } on { $os }

## The customer's request page (static/request.js words its checks itself)
req-title = New client secret
req-asks = { $vendor } asks for a new client secret
req-lead = It is for this app registration in Microsoft Entra ID:
req-tenant = Tenant
req-entra-tenant = Entra tenant
req-client-id = App (client ID)
req-link-expires = This link expires
req-copy-tenant = Copy the tenant
req-copy-client-id = Copy the client ID
req-what-to-do = What to do
req-step-sign-in = Sign in to the Microsoft Entra admin centre as an admin of this tenant:
req-step-open-app = Go to Applications → App registrations → All applications, and open the app with this Application (client) ID:
req-step-new-secret = Open Certificates & secrets → Client secrets → New client secret; pick an expiry.
req-step-direct = Or go straight there:
req-step-direct-link = this app's Certificates & secrets
req-step-copy-value = Copy the Value column right away: it is shown only once. Not the Secret ID.
req-step-paste = Paste it below.
req-field-secret = Client secret value
req-field-expiry = Secret expires in
req-field-expiry-note = (as picked in step 3)
req-expiry-unknown = I don't know
req-expiry-days = { $days } days ({ $months } months)
req-expiry-custom = Custom date
req-expiry-hint = So a new secret can be asked for before this one stops working.
req-field-expiry-date = Expiry date
req-field-secret-id = Secret ID, for the record
req-secret-id-hint = The GUID in the Secret ID column, next to the Value. It is not secret; it tells secrets apart.
req-submit = Check and send
req-accepted-heading = Thank you: the secret was received
req-close = You can close this page.
req-closed-heading = Nothing to do here
js-req-asks = { $vendor } asks for a new client secret
js-req-vendor = The vendor
js-req-incomplete = This link is incomplete: the part after # is missing. Ask the sender to copy the whole link.
js-req-not-found = This request link is not valid or has expired; ask the sender for a new one.
js-req-answered = This request was already answered. Nothing more to do.
js-req-answered-at = This request was already answered on { $time }. Nothing more to do.
js-req-locked = Too many attempts: this request is locked. The vendor has been told; ask them for a new link.
js-req-unreachable = Microsoft could not be reached to check the secret. Nothing was sent; try again in a minute.
js-req-too-many = Too many attempts in a short time. Wait a minute and try again.
js-req-pick-date = Pick the expiry date, or choose “I don't know”.
js-req-activating = Microsoft is still activating this new secret (a new secret can take a minute or two to work). It is checked again automatically: keep this page open, nothing more to do.
js-req-activating-button = Waiting for Microsoft…
js-req-secret-id-not-guid = The Secret ID is a GUID such as 1a2b3c4d-…; copy it from the Secret ID column, or leave this field empty.
js-req-heading-incomplete = This link is incomplete
js-req-heading-answered = Already answered
js-req-heading-locked = This request is locked
js-req-heading-not-found = This link does not work
js-req-tries-one = { $count } attempt left
js-req-tries-other = { $count } attempts left
js-req-send = Send
js-req-sending = Sending…
js-req-checking = Checking with Microsoft…
js-req-verify-off = The secret is sent to { $vendor } without a check with Microsoft.
js-req-verify-advisory = The secret is checked with Microsoft first. If Microsoft cannot be reached, it is sent anyway and checked later.
js-req-verify-required = The secret is checked with Microsoft first; it is sent only if Microsoft accepts it.
js-req-refused-empty = The secret is empty: paste the Value of the new client secret.
js-req-refused-secret_id_not_value = That is the Secret ID, not the Value: in Certificates & secrets, copy the Value column (it is shown only right after creating the secret).
js-req-refused-equals_client_id = That is the app's client ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.
js-req-refused-equals_tenant_id = That is the tenant ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.
js-req-refused-control_characters = The value contains control characters, such as a line break in the middle: copy it again from the Value column, in one piece.
js-req-refused-masked_value = That value is hidden behind asterisks: a secret's Value is shown only once, right after it is created. Create a new secret: Certificates & secrets → Client secrets → New client secret, and copy its Value right away.
js-req-refused-portal_row = That is a whole row of the Client secrets table, and its Value could not be told apart: copy only the Value cell.
js-req-refused-other_app = That Azure CLI output is for another app (its appId is not this app's client ID): reset the credential of the app shown on this page.
js-req-refused-other_tenant = That Azure CLI output is from another tenant (its tenant is not this tenant's ID): sign in to the tenant shown on this page and reset the credential there.
js-req-refused-cli_output_without_password = That Azure CLI output has no password: paste the output of `az ad app credential reset`, or only its password.
js-req-clean-trimmed = Spaces or line breaks around the value will be removed.
js-req-clean-invisible = Invisible characters (non-breaking or zero-width spaces, a byte order mark) will be removed.
js-req-clean-label = The label in front of the value will be removed.
js-req-clean-quotes = The quotes around the value will be removed.
js-req-clean-cli_output = Only the password from the Azure CLI output will be sent.
js-req-clean-portal_row = Only the Value from the copied Client secrets row will be sent.
js-req-clean-wrapped = The value was broken across lines; it will be joined.
js-req-clean-pasted_twice = The value was pasted twice; it will be sent once.
js-req-clean-percent_encoded = %7E will be turned back into ~ (the value was copied from a URL).
js-req-cleaned-trimmed = Removed spaces or line breaks around the value.
js-req-cleaned-invisible = Removed invisible characters (non-breaking or zero-width spaces, a byte order mark) that the copy added.
js-req-cleaned-label = Removed the label in front of the value.
js-req-cleaned-quotes = Removed the quotes around the value.
js-req-cleaned-cli_output = Took the password from the Azure CLI output; the rest of it was left out.
js-req-cleaned-portal_row = Took the Value from the copied Client secrets row; the description, expiry and Secret ID were left out.
js-req-cleaned-wrapped = Joined the value, which was broken across lines.
js-req-cleaned-pasted_twice = The value was pasted twice; one copy was kept.
js-req-cleaned-percent_encoded = Turned %7E back into ~: the value had been copied from a URL.
js-req-doubt-inner = The value contains a space or an invisible character; Microsoft's client secrets never do, so it may have been split or joined when it was copied.
js-req-doubt-format = This doesn't look like a current Entra ID secret value (40 characters with 8Q~ after the first three). Check you copied all of it.
js-req-doubt-length-one = This doesn't look like a current Entra ID secret value (40 characters with 8Q~ after the first three). Check you copied all of it. It has { $count } character.
js-req-doubt-length-other = This doesn't look like a current Entra ID secret value (40 characters with 8Q~ after the first three). Check you copied all of it. It has { $count } characters.
js-req-verify-invalid_secret = Microsoft rejected this value for this app. Most often the Secret ID was copied instead of the Value, or the value is incomplete.
js-req-verify-expired = This secret has already expired in this tenant: create a new one.
js-req-verify-unreachable = Microsoft could not be reached
js-req-verify-not_checked = Not checked with Microsoft: verification is off for this tenant.
js-req-verified = Verified: Microsoft accepted the secret.
js-req-verified-delivered = Verified and delivered to { $vendor }.
js-req-delivered = Delivered to { $vendor }.
js-req-received-unchecked = Received. { $vendor } will check it.
js-req-received-later = Received. It could not be checked with Microsoft right now; { $vendor } will check it.
js-req-received-later-why = Received. It could not be checked with Microsoft right now ({ $why }); { $vendor } will check it.
js-req-close = You can close this page.
js-req-nothing-more = Nothing more to do; you can close this page.
js-req-hint = The secret received starts with { $hint }.
js-req-misconfigured = { $vendor } cannot check secrets with Microsoft right now: their own setup needs fixing. Nothing was stored; tell { $vendor }.
js-req-invalid-expires_on = The expiry date is not valid: pick a date in the future, or choose “I don't know”.
js-req-invalid-secret_id = The Secret ID is not valid: it is a GUID such as 1a2b3c4d-…, or leave the field empty.
req-cert-heading = What to do
req-cert-lead = No secret is needed: upload this certificate to the app. Its private key stays with the vendor and is never shown.
req-cert-step-open-app = In the Microsoft Entra admin centre, go to Applications → App registrations and open the app with this Application (client) ID:
req-cert-step-upload = Open Certificates & secrets → Certificates → Upload certificate.
req-cert-step-files = Upload the certificate downloaded here,
req-cert-or = or
req-cert-step-check = , then press Check below.
req-cert-thumbprint = Thumbprint (as the portal shows it)
req-cert-sha256 = SHA-256
req-cert-valid-until = Valid until
req-cert-check = Check
js-req-cert-asks = { $vendor } asks you to upload a certificate
js-req-cert-check = Check
js-req-cert-accepted = Certificate { $thumbprint } was accepted.
js-req-cert-verify-certificate_not_uploaded = Microsoft does not know this certificate: it has not been uploaded to this app yet (Certificates & secrets → Certificates → Upload certificate). Just uploaded? Give Microsoft a minute, then check again.
js-req-cert-verify-invalid_assertion = Microsoft refused the signed request: check that the certificate uploaded to the app is the one offered here.
js-req-cert-misconfigured = { $vendor } cannot check certificates with Microsoft right now: their own setup needs fixing. This is not your fault and no attempt was counted; tell { $vendor }.
js-req-cert-unreachable = Microsoft could not be reached to check the certificate. Nothing was counted; try again in a minute.
field-label = Private label
field-label-hint = Only you see it, on the manage page, so you know which secret it is. The recipient never does.
form-error-label = The label is too long or holds characters that cannot be shown: at most 100 characters.
fact-label = Your label
