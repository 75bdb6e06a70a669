## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: envíe un nuevo secreto de cliente para { $tenant }
mail-request-subject-automatic = { $vendor }: se necesita un nuevo secreto de cliente para { $tenant } antes del { $date }
mail-hello = Hola:
mail-request-intro = { $vendor } le pide un nuevo secreto de cliente para el registro de aplicación con el que { $vendor } inicia sesión en su inquilino de Microsoft Entra ID.
mail-request-intro-automatic = El secreto de cliente con el que { $vendor } inicia sesión en su inquilino de Microsoft Entra ID caduca el { $date }. Cree uno nuevo antes de esa fecha y envíelo mediante el enlace de abajo, para que nada deje de funcionar.
mail-request-step-link = Abra este enlace y pegue allí el valor:
mail-request-checked = La página comprueba el secreto con Microsoft antes de aceptarlo, y va directamente a la configuración de { $vendor }: nadie necesita verlo. No responda a este mensaje con el secreto.
mail-request-once = El enlace sirve solo para esta solicitud. Si no esperaba este mensaje, ignórelo: no ocurre nada mientras nadie responda mediante el enlace.
