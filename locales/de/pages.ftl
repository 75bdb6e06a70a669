## Every page
footer-encrypted = Geheimnisse werden mit einem Schlüssel verschlüsselt, den nur der Link enthält, und nach dem Anzeigen oder Ablauf gelöscht.
language-switch = Sprache
support-contact = Fragen? Wenden Sie sich an { $vendor }:
note-from = Hinweis von { $vendor }
optional = (optional)
copy = Kopieren
share = Teilen…

## Error pages
not-found-title = Seite nicht gefunden
not-found-body = Unter dieser Adresse gibt es nichts.
go-home = Zur Startseite
error-title = Etwas ist schiefgelaufen

## Push: the create form
create-title = Ein Geheimnis teilen
create-heading = Ein Geheimnis einmalig teilen
create-lead = Fügen Sie ein Geheimnis ein, zum Beispiel einen geheimen Clientschlüssel aus Entra ID. Sie erhalten einen Link, der es eine festgelegte Anzahl von Malen anzeigt; danach wird das Geheimnis gelöscht.
field-secret = Geheimnis
field-secret-hint = Es wird vor dem Speichern verschlüsselt. Nur der Link, den Sie gleich erhalten, kann es entschlüsseln.
field-ttl = Link läuft ab nach
field-views = Anzahl der Ansichten
field-views-hint = Jedes Anzeigen verbraucht eine Ansicht. Höchstens { $max }.
field-passphrase = Passphrase
field-passphrase-hint = Der Empfänger muss sie eingeben, bevor das Geheimnis angezeigt wird. Senden Sie sie auf einem anderen Weg als den Link, zum Beispiel telefonisch. Zu viele Fehlversuche zerstören das Geheimnis.
field-note = Hinweis für den Empfänger
field-note-hint = Wird dem Empfänger vor und nach dem Anzeigen gezeigt, zum Beispiel zu welcher App-Registrierung es gehört. Schreiben Sie das Geheimnis nicht hierher.
create-button = Link erstellen
form-error-summary = Der Link wurde nicht erstellt. Prüfen Sie das unten markierte Feld.
form-error-secret = Fügen Sie hier das Geheimnis ein; es darf nicht leer sein.
form-error-secret-too-large = Dieses Geheimnis ist zu groß: höchstens { $max } Bytes.
form-error-ttl = Wählen Sie eine der angebotenen Ablaufzeiten.
form-error-views = Geben Sie eine ganze Zahl von 1 bis { $max } ein.
form-error-passphrase = Diese Passphrase ist nicht verwendbar: 1 bis 1024 Zeichen.
form-error-note = Der Hinweis ist zu lang oder enthält Zeichen, die sich nicht anzeigen lassen: höchstens 500 Zeichen.
ttl-hours = { $count ->
    [one] { $count } Stunde
   *[other] { $count } Stunden
}
ttl-days = { $count ->
    [one] { $count } Tag
   *[other] { $count } Tage
}

## Push: the result page
created-title = Link erstellt
created-heading = Ihr Link ist bereit
created-link = Link für den Empfänger
created-link-hint = { $views ->
    [one] Senden Sie diesen Link an den Empfänger. Er funktioniert einmal und läuft { $expires } ab.
   *[other] Senden Sie diesen Link an den Empfänger. Er funktioniert { $views }-mal und läuft { $expires } ab.
} Der ganze Link wird gebraucht, auch der Teil nach #.
created-qr = QR-Code des Links, um ihn auf einem Telefon zu öffnen
created-passphrase = Senden Sie die Passphrase getrennt, auf einem anderen Weg als den Link. Ohne sie zeigt der Link das Geheimnis nicht an.
manage-heading = Behalten Sie ihn für sich: Ihr Verwaltungslink
manage-link = Verwaltungslink
manage-hint = Er zeigt, wann und von wo das Geheimnis angezeigt wurde, und lässt Sie es löschen, bevor es verwendet wird. Senden Sie ihn nicht an den Empfänger.
create-another = Noch eines erstellen

## The recipient's page
reveal-title = Ein Geheimnis anzeigen
checking-link = Der Link wird geprüft…
ready-heading = Jemand hat ein Geheimnis mit Ihnen geteilt
fact-expires = Läuft ab
fact-views = Ansichten
fact-created = Erstellt
fact-ended = Beendet
fact-failed = Falsche Passphrasen
recipient-passphrase-hint = Der Absender sollte sie Ihnen getrennt vom Link gegeben haben.
reveal-button = Geheimnis anzeigen
reveal-hint = Das Anzeigen verbraucht eine der verbleibenden Ansichten. Das Öffnen dieser Seite nicht.
revealed-heading = Das Geheimnis
delete-remaining = Die restlichen Ansichten löschen
gone-heading = Dieses Geheimnis ist nicht verfügbar

## The sender's manage page
status-title = Status des Geheimnisses
loading-status = Der Status wird geladen…
reveals-heading = Anzeigen
activity-heading = Aktivität
col-time = Zeit
col-ip = IP-Adresse
col-browser = Browser
col-event = Ereignis
col-by = Von
refresh = Aktualisieren
delete-now = Jetzt löschen

## Browser-side messages
js-network = Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.
js-generic = Etwas ist schiefgelaufen; versuchen Sie es erneut.
js-unknown-time = Unbekannt
js-now = jetzt
js-in-less-than-a-minute = in weniger als einer Minute
js-copied = Kopiert
js-copy-failed = Kopieren fehlgeschlagen
js-copied-announce = In die Zwischenablage kopiert.
js-copy-failed-announce = Automatisches Kopieren war nicht möglich. Der Text ist markiert; kopieren Sie ihn mit Tastatur oder Menü.
js-incomplete = Dieser Link ist unvollständig: Der Teil nach # fehlt. Bitten Sie den Absender, den ganzen Link zu kopieren.
js-not-found = Dieser Link ist ungültig: Das Geheimnis wurde schon angezeigt, ist abgelaufen, oder der Link ist unvollständig.
js-revoked = Der Absender hat dieses Geheimnis gelöscht.
js-applied = Dieses Geheimnis wurde in die Konfiguration eines Mandanten übernommen und hier gelöscht.
js-applied-at = Dieses Geheimnis wurde um { $time } in die Konfiguration eines Mandanten übernommen und hier gelöscht.
js-destroyed = Dieses Geheimnis wurde nach zu vielen falschen Passphrasen zerstört.
js-destroyed-now = Zu viele falsche Passphrasen: Das Geheimnis wurde zerstört.
js-passphrase-required = Dieses Geheimnis ist durch eine Passphrase geschützt. Der Absender sollte sie Ihnen getrennt vom Link gegeben haben.
js-deleted = Dieses Geheimnis ist jetzt vom Server gelöscht. Legen Sie es jetzt dort ab, wo es hingehört; diese Seite zeigt es nicht noch einmal.
js-unconfirmed = Der Server konnte das Anzeigen nicht bestätigen. Klicken Sie erneut auf „Geheimnis anzeigen“: Innerhalb einer Minute erhalten Sie dasselbe Geheimnis.
js-already-revealed = Dieses Geheimnis wurde bereits angezeigt. Wenn Sie das nicht waren, wurde der Link abgefangen: Bitten Sie den Absender um ein neues Geheimnis.
js-already-revealed-at = Dieses Geheimnis wurde bereits um { $time } angezeigt. Wenn Sie das nicht waren, wurde der Link abgefangen: Bitten Sie den Absender um ein neues Geheimnis.
js-revealed-at = Sie haben dies um { $time } angezeigt; es ist vom Server gelöscht.
js-revealed-remaining = Sie haben dies um { $time } angezeigt. Es bleibt, bis seine Ansichten verbraucht sind oder es abläuft.
js-revealing = Wird angezeigt…
js-wrong-passphrase = Falsche Passphrase.
js-wrong-passphrase-left-one = Falsche Passphrase. Noch { $count } Versuch, bevor das Geheimnis zerstört wird.
js-wrong-passphrase-left-other = Falsche Passphrase. Noch { $count } Versuche, bevor das Geheimnis zerstört wird.
js-views-of-one = { $left } von { $allowed } Ansicht übrig
js-views-of-other = { $left } von { $allowed } Ansichten übrig
js-more-views-one = Noch { $count } Ansicht übrig. Jeder mit dem ganzen Link kann sie nutzen, bis der Link abläuft.
js-more-views-other = Noch { $count } Ansichten übrig. Jeder mit dem ganzen Link kann sie nutzen, bis der Link abläuft.
js-delete-remaining-confirm = Dieses Geheimnis jetzt mit seinen restlichen Ansichten löschen? Der Link funktioniert dann für niemanden mehr.
js-deleted-remaining = Gelöscht: Der Link funktioniert für niemanden mehr.
js-manage-incomplete = Dieser Verwaltungslink ist unvollständig: Der Teil nach # fehlt. Kopieren Sie den ganzen Verwaltungslink.
js-manage-gone = Dieses Geheimnis ist abgelaufen und sein Eintrag gelöscht, oder der Verwaltungslink ist unvollständig.
js-confirm-delete = Dieses Geheimnis jetzt löschen? Der Link funktioniert sofort nicht mehr. Das lässt sich nicht rückgängig machen.
js-state-live = Wartet darauf, angezeigt zu werden
js-state-revealed = Angezeigt – vom Server gelöscht
js-state-revoked = Von Ihnen gelöscht
js-state-destroyed = Nach zu vielen falschen Passphrasen zerstört
js-no-reveals = Noch niemand hat es angezeigt.
js-views-used-one = { $used } von { $allowed } Ansicht verbraucht
js-views-used-other = { $used } von { $allowed } Ansichten verbraucht
js-event-created = Erstellt
js-event-viewed = Link geöffnet
js-event-revealed = Angezeigt
js-event-passphrase-failed = Falsche Passphrase
js-event-destroyed = Zerstört
js-event-revoked = Gelöscht
js-event-expired = Ungelesen abgelaufen
js-you = Sie
js-someone = der Empfänger
js-browser-on = { $browser } unter { $os }

## The customer's request page
req-title = Neuer geheimer Clientschlüssel
req-asks = { $vendor } bittet um einen neuen geheimen Clientschlüssel
req-lead = Er ist für diese App-Registrierung in Microsoft Entra ID:
req-tenant = Mandant
req-entra-tenant = Entra-Mandant
req-client-id = App (Client-ID)
req-link-expires = Dieser Link läuft ab
req-copy-tenant = Mandanten kopieren
req-copy-client-id = Client-ID kopieren
req-what-to-do = So gehen Sie vor
req-step-sign-in = Melden Sie sich im Microsoft Entra Admin Center als Administrator dieses Mandanten an:
req-step-open-app = Öffnen Sie Anwendungen → App-Registrierungen → Alle Anwendungen und dort die App mit dieser Anwendungs-ID (Client-ID):
req-step-new-secret = Öffnen Sie Zertifikate & Geheimnisse → Geheime Clientschlüssel → Neuer geheimer Clientschlüssel; wählen Sie eine Ablaufzeit.
req-step-direct = Oder direkt dorthin:
req-step-direct-link = Zertifikate & Geheimnisse dieser App
req-step-copy-value = Kopieren Sie sofort die Spalte „Wert“: Sie wird nur einmal angezeigt. Nicht die „Geheime ID“.
req-step-paste = Fügen Sie ihn unten ein.
req-field-secret = Wert des geheimen Clientschlüssels
req-field-expiry = Schlüssel läuft ab in
req-field-expiry-note = (wie in Schritt 3 gewählt)
req-expiry-unknown = Weiß ich nicht
req-expiry-days = { $days } Tage ({ $months } Monate)
req-expiry-custom = Eigenes Datum
req-expiry-hint = Damit rechtzeitig ein neuer Schlüssel angefragt werden kann, bevor dieser nicht mehr funktioniert.
req-field-expiry-date = Ablaufdatum
req-field-secret-id = Geheime ID, zur Zuordnung
req-secret-id-hint = Die GUID in der Spalte „Geheime ID“ neben dem Wert. Sie ist nicht geheim; sie unterscheidet Schlüssel voneinander.
req-submit = Prüfen und senden
req-accepted-heading = Danke: Der Schlüssel ist angekommen
req-close = Sie können diese Seite schließen.
req-closed-heading = Hier ist nichts zu tun
js-req-asks = { $vendor } bittet um einen neuen geheimen Clientschlüssel
