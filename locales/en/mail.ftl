## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: please send a new client secret for { $tenant }
mail-request-subject-automatic = { $vendor }: a new client secret for { $tenant } is needed before { $date }
mail-hello = Hello,
mail-request-intro = { $vendor } asks you for a new client secret for the app registration that signs in to your Microsoft Entra ID tenant.
mail-request-intro-automatic = The client secret that { $vendor } uses to sign in to your Microsoft Entra ID tenant expires on { $date }. Please create a new one before then and send it through the link below, so that nothing stops working.
mail-request-step-link = Open this link and paste the value there:
mail-request-checked = The page checks the secret with Microsoft before it is accepted, and it goes straight into { $vendor }'s configuration: nobody needs to see it. Please do not reply to this message with the secret.
mail-request-once = The link works for this request only. If you did not expect this message, ignore it: nothing happens until someone answers through the link.
