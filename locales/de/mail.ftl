## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: Bitte senden Sie einen neuen geheimen Clientschlüssel für { $tenant }
mail-request-subject-automatic = { $vendor }: Vor dem { $date } wird ein neuer geheimer Clientschlüssel für { $tenant } benötigt
mail-hello = Guten Tag,
mail-request-intro = { $vendor } bittet Sie um einen neuen geheimen Clientschlüssel für die App-Registrierung, mit der sich { $vendor } bei Ihrem Microsoft Entra ID-Mandanten anmeldet.
mail-request-intro-automatic = Der geheime Clientschlüssel, mit dem sich { $vendor } bei Ihrem Microsoft Entra ID-Mandanten anmeldet, läuft am { $date } ab. Bitte erstellen Sie vorher einen neuen und senden Sie ihn über den Link unten, damit nichts ausfällt.
mail-request-step-link = Öffnen Sie diesen Link und fügen Sie den Wert dort ein:
mail-request-checked = Die Seite prüft den Schlüssel bei Microsoft, bevor er angenommen wird, und er geht direkt in die Konfiguration von { $vendor }: Niemand muss ihn sehen. Bitte antworten Sie auf diese Nachricht nicht mit dem Schlüssel.
mail-request-once = Der Link gilt nur für diese Anfrage. Wenn Sie diese Nachricht nicht erwartet haben, ignorieren Sie sie: Es geschieht nichts, solange niemand über den Link antwortet.
