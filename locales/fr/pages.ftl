## Every page
footer-encrypted = Les secrets sont chiffrés avec une clé que seul le lien contient, et supprimés une fois affichés ou expirés.
language-switch = Langue
support-contact = Des questions ? Contactez { $vendor } :
note-from = Note de { $vendor }
optional = (facultatif)
copy = Copier
share = Partager…

## Error pages
not-found-title = Page introuvable
not-found-body = Il n’y a rien à cette adresse.
go-home = Aller à la page d’accueil
error-title = Une erreur s’est produite

## Push: the create form
create-title = Partager un secret
create-heading = Partager un secret une seule fois
create-lead = Collez un secret, par exemple un secret client Entra ID. Vous obtenez un lien qui l’affiche un nombre de fois choisi, puis le secret est supprimé.
field-secret = Secret
field-secret-hint = Il est chiffré avant d’être stocké. Seul le lien que vous allez recevoir peut le déchiffrer.
field-ttl = Le lien expire après
field-views = Nombre d’affichages
field-views-hint = Chaque affichage en consomme un. Au plus { $max }.
field-passphrase = Phrase secrète
field-passphrase-hint = Le destinataire doit la saisir avant que le secret s’affiche. Envoyez-la par un autre canal que le lien, par exemple par téléphone. Trop d’essais erronés détruisent le secret.
field-note = Note pour le destinataire
field-note-hint = Montrée au destinataire avant et après l’affichage, par exemple l’inscription d’application concernée. N’y mettez pas le secret.
create-button = Créer le lien
form-error-summary = Le lien n’a pas été créé. Vérifiez le champ signalé ci-dessous.
form-error-secret = Collez le secret ici ; il ne peut pas être vide.
form-error-secret-too-large = Ce secret est trop grand : { $max } octets au plus.
form-error-ttl = Choisissez l’une des durées proposées.
form-error-views = Saisissez un nombre entier de 1 à { $max }.
form-error-passphrase = Cette phrase secrète n’est pas utilisable : de 1 à 1024 caractères.
form-error-note = La note est trop longue ou contient des caractères non affichables : 500 caractères au plus.
ttl-hours = { $count ->
    [one] { $count } heure
   *[other] { $count } heures
}
ttl-days = { $count ->
    [one] { $count } jour
   *[other] { $count } jours
}

## Push: the result page
created-title = Lien créé
created-heading = Votre lien est prêt
created-link = Lien pour le destinataire
created-link-hint = { $views ->
    [one] Envoyez ce lien au destinataire. Il fonctionne une fois et expire { $expires }.
   *[other] Envoyez ce lien au destinataire. Il fonctionne { $views } fois et expire { $expires }.
} Le lien entier est nécessaire, y compris la partie après #.
created-qr = QR code du lien, pour l’ouvrir sur un téléphone
created-passphrase = Envoyez la phrase secrète à part, par un autre canal que le lien. Sans elle, le lien n’affiche pas le secret.
manage-heading = Gardez-le pour vous : votre lien de gestion
manage-link = Lien de gestion
manage-hint = Il montre quand et d’où le secret a été affiché, et permet de le supprimer avant son utilisation. Ne l’envoyez pas au destinataire.
create-another = En créer un autre

## The recipient's page
reveal-title = Afficher un secret
checking-link = Vérification du lien…
ready-heading = Quelqu’un a partagé un secret avec vous
fact-expires = Expire
fact-views = Affichages
fact-created = Créé
fact-ended = Terminé
fact-failed = Phrases secrètes erronées
recipient-passphrase-hint = L’expéditeur a dû vous la donner séparément du lien.
reveal-button = Afficher le secret
reveal-hint = L’affichage consomme l’un des affichages restants. Ouvrir cette page, non.
revealed-heading = Le secret
delete-remaining = Supprimer les affichages restants
gone-heading = Ce secret n’est pas disponible

## The sender's manage page
status-title = État du secret
loading-status = Chargement de l’état…
reveals-heading = Affichages
activity-heading = Activité
col-time = Heure
col-ip = Adresse IP
col-browser = Navigateur
col-event = Événement
col-by = Par
refresh = Actualiser
delete-now = Supprimer maintenant

## Browser-side messages
js-network = Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.
js-generic = Une erreur s’est produite ; réessayez.
js-unknown-time = Inconnue
js-now = maintenant
js-in-less-than-a-minute = dans moins d’une minute
js-copied = Copié
js-copy-failed = Échec de la copie
js-copied-announce = Copié dans le presse-papiers.
js-copy-failed-announce = Copie automatique impossible. Le texte est sélectionné ; copiez-le avec le clavier ou le menu.
js-incomplete = Ce lien est incomplet : la partie après # manque. Demandez à l’expéditeur de copier le lien entier.
js-not-found = Ce lien n’est pas valide : le secret a déjà été affiché, a expiré, ou le lien est incomplet.
js-revoked = L’expéditeur a supprimé ce secret.
js-applied = Ce secret a été appliqué à la configuration d’un client et supprimé ici.
js-applied-at = Ce secret a été appliqué à la configuration d’un client à { $time } et supprimé ici.
js-destroyed = Ce secret a été détruit après trop de phrases secrètes erronées.
js-destroyed-now = Trop de phrases secrètes erronées : le secret a été détruit.
js-passphrase-required = Ce secret est protégé par une phrase secrète. L’expéditeur a dû vous la donner séparément du lien.
js-deleted = Ce secret est maintenant supprimé du serveur. Rangez-le là où il doit aller ; cette page ne l’affichera plus.
js-unconfirmed = Le serveur n’a pas pu confirmer l’affichage. Cliquez à nouveau sur Afficher : dans la minute, vous obtenez le même secret.
js-already-revealed = Ce secret a déjà été affiché. Si ce n’était pas vous, le lien a été intercepté : demandez un nouveau secret à l’expéditeur.
js-already-revealed-at = Ce secret a déjà été affiché à { $time }. Si ce n’était pas vous, le lien a été intercepté : demandez un nouveau secret à l’expéditeur.
js-revealed-at = Vous l’avez affiché à { $time } ; il est supprimé du serveur.
js-revealed-remaining = Vous l’avez affiché à { $time }. Il reste jusqu’à épuisement de ses affichages ou jusqu’à son expiration.
js-revealing = Affichage…
js-wrong-passphrase = Phrase secrète erronée.
js-wrong-passphrase-left-one = Phrase secrète erronée. Encore { $count } essai avant la destruction du secret.
js-wrong-passphrase-left-other = Phrase secrète erronée. Encore { $count } essais avant la destruction du secret.
js-views-of-one = { $left } affichage restant sur { $allowed }
js-views-of-other = { $left } affichages restants sur { $allowed }
js-more-views-one = Il reste { $count } affichage. Toute personne ayant le lien complet peut l’utiliser jusqu’à l’expiration du lien.
js-more-views-other = Il reste { $count } affichages. Toute personne ayant le lien complet peut les utiliser jusqu’à l’expiration du lien.
js-delete-remaining-confirm = Supprimer ce secret maintenant, avec ses affichages restants ? Le lien ne fonctionnera plus pour personne.
js-deleted-remaining = Supprimé : le lien ne fonctionne plus pour personne.
js-manage-incomplete = Ce lien de gestion est incomplet : la partie après # manque. Copiez le lien de gestion entier.
js-manage-gone = Ce secret a expiré et son enregistrement est supprimé, ou le lien de gestion est incomplet.
js-confirm-delete = Supprimer ce secret maintenant ? Le lien cesse aussitôt de fonctionner. C’est définitif.
js-state-live = En attente d’affichage
js-state-revealed = Affiché — supprimé du serveur
js-state-revoked = Supprimé par vous
js-state-destroyed = Détruit après trop de phrases secrètes erronées
js-no-reveals = Personne ne l’a encore affiché.
js-views-used-one = { $used } affichage utilisé sur { $allowed }
js-views-used-other = { $used } affichages utilisés sur { $allowed }
js-event-created = Créé
js-event-viewed = Lien ouvert
js-event-revealed = Affiché
js-event-passphrase-failed = Phrase secrète erronée
js-event-destroyed = Détruit
js-event-revoked = Supprimé
js-event-expired = Expiré sans lecture
js-you = vous
js-someone = le destinataire
js-browser-on = { $browser } sous { $os }

## The customer's request page
req-title = Nouveau secret client
req-asks = { $vendor } demande un nouveau secret client
req-lead = Il est destiné à cette inscription d’application dans Microsoft Entra ID :
req-tenant = Client
req-entra-tenant = Locataire Entra
req-client-id = Application (ID client)
req-link-expires = Ce lien expire
req-copy-tenant = Copier le locataire
req-copy-client-id = Copier l’ID client
req-what-to-do = Marche à suivre
req-step-sign-in = Connectez-vous au centre d’administration Microsoft Entra en tant qu’administrateur de ce locataire :
req-step-open-app = Allez dans Applications → Inscriptions d’applications → Toutes les applications, puis ouvrez l’application ayant cet ID d’application (client) :
req-step-new-secret = Ouvrez Certificats & secrets → Secrets client → Nouveau secret client ; choisissez une durée.
req-step-direct = Ou directement :
req-step-direct-link = les Certificats & secrets de cette application
req-step-copy-value = Copiez tout de suite la colonne Valeur : elle n’est affichée qu’une fois. Pas l’ID du secret.
req-step-paste = Collez-la ci-dessous.
req-field-secret = Valeur du secret client
req-field-expiry = Le secret expire dans
req-field-expiry-note = (comme choisi à l’étape 3)
req-expiry-unknown = Je ne sais pas
req-expiry-days = { $days } jours ({ $months } mois)
req-expiry-custom = Date personnalisée
req-expiry-hint = Pour qu’un nouveau secret soit demandé avant que celui-ci cesse de fonctionner.
req-field-expiry-date = Date d’expiration
req-field-secret-id = ID du secret, pour mémoire
req-secret-id-hint = Le GUID de la colonne ID du secret, à côté de la valeur. Il n’est pas secret ; il distingue les secrets.
req-submit = Vérifier et envoyer
req-accepted-heading = Merci : le secret a bien été reçu
req-close = Vous pouvez fermer cette page.
req-closed-heading = Rien à faire ici
js-req-asks = { $vendor } demande un nouveau secret client
