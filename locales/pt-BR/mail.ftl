## The request mail to a tenant's contacts (its steps and labels are the
## request page's own, in pages.ftl)
mail-request-subject = { $vendor }: envie um novo segredo do cliente para { $tenant }
mail-request-subject-automatic = { $vendor }: é preciso um novo segredo do cliente para { $tenant } antes de { $date }
mail-hello = Olá,
mail-request-intro = { $vendor } pede um novo segredo do cliente para o registro de aplicativo com o qual { $vendor } entra no seu locatário do Microsoft Entra ID.
mail-request-intro-automatic = O segredo do cliente com o qual { $vendor } entra no seu locatário do Microsoft Entra ID expira em { $date }. Crie um novo antes disso e envie-o pelo link abaixo, para que nada pare de funcionar.
mail-request-step-link = Abra este link e cole o valor lá:
mail-request-checked = A página verifica o segredo com a Microsoft antes de aceitá-lo, e ele vai direto para a configuração de { $vendor }: ninguém precisa vê-lo. Não responda a esta mensagem com o segredo.
mail-request-once = O link vale só para este pedido. Se você não esperava esta mensagem, ignore-a: nada acontece enquanto ninguém responder pelo link.
