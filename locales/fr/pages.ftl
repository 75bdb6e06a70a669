## Every page
site-title = { $vendor }
footer-encrypted = Les secrets sont chiffrés avec une clé que seul le lien contient, et supprimés une fois affichés ou expirés.
language-switch = Langue
support-contact = Des questions ? Contactez { $vendor } :
note-from = Note de { $vendor }

## Error pages
not-found-title = Page introuvable
not-found-body = Il n’y a rien à cette adresse.
go-home = Aller à la page d’accueil
error-title = Une erreur s’est produite

## Counts
views-left = { $count ->
    [one] { $count } affichage restant
   *[other] { $count } affichages restants
}

## Browser-side messages
js-revealed-at = Vous l’avez affiché à { $time } ; il est supprimé du serveur.
