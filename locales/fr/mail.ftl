## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor } : merci d’envoyer un nouveau secret client pour { $tenant }
mail-request-subject-automatic = { $vendor } : un nouveau secret client pour { $tenant } est nécessaire avant le { $date }
mail-hello = Bonjour,
mail-request-intro = { $vendor } vous demande un nouveau secret client pour l’inscription d’application avec laquelle { $vendor } se connecte à votre locataire Microsoft Entra ID.
mail-request-intro-automatic = Le secret client avec lequel { $vendor } se connecte à votre locataire Microsoft Entra ID expire le { $date }. Merci d’en créer un nouveau d’ici là et de l’envoyer par le lien ci-dessous, pour que rien ne s’arrête.
mail-request-step-link = Ouvrez ce lien et collez-y la valeur :
mail-request-checked = La page vérifie le secret auprès de Microsoft avant de l’accepter, et il va directement dans la configuration de { $vendor } : personne n’a besoin de le voir. Ne répondez pas à ce message avec le secret.
mail-request-once = Le lien ne sert qu’à cette demande. Si vous n’attendiez pas ce message, ignorez-le : rien ne se passe tant que personne ne répond par le lien.
