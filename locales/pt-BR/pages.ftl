## Every page
footer-encrypted = Os segredos são criptografados com uma chave que só o link contém e excluídos após serem exibidos ou expirarem.
language-switch = Idioma
support-contact = Dúvidas? Fale com { $vendor }:
note-from = Nota de { $vendor }
optional = (opcional)
copy = Copiar
share = Compartilhar…

## Error pages
not-found-title = Página não encontrada
not-found-body = Não há nada neste endereço.
go-home = Ir para a página inicial
error-title = Algo deu errado

## Push: the create form
create-title = Compartilhar um segredo
create-heading = Compartilhar um segredo uma única vez
create-lead = Cole um segredo, por exemplo um segredo do cliente do Entra ID. Você recebe um link que o exibe um número definido de vezes; depois, o segredo é excluído.
field-secret = Segredo
field-secret-hint = Ele é criptografado antes de ser armazenado. Só o link que você vai receber pode descriptografá-lo.
field-ttl = O link expira após
field-views = Número de visualizações
field-views-hint = Cada exibição usa uma visualização. No máximo { $max }.
field-passphrase = Frase secreta
field-passphrase-hint = O destinatário precisa digitá-la antes de ver o segredo. Envie-a por outro canal que não o do link, por exemplo por telefone. Tentativas erradas demais destroem o segredo.
field-note = Nota para o destinatário
field-note-hint = Mostrada ao destinatário antes e depois de exibir o segredo, por exemplo a qual registro de aplicativo ele pertence. Não coloque o segredo aqui.
create-button = Criar link
form-error-summary = O link não foi criado. Verifique o campo marcado abaixo.
form-error-secret = Cole o segredo aqui; ele não pode ficar vazio.
form-error-secret-too-large = Este segredo é grande demais: no máximo { $max } bytes.
form-error-ttl = Escolha um dos prazos oferecidos.
form-error-views = Digite um número inteiro de 1 a { $max }.
form-error-passphrase = Esta frase secreta não pode ser usada: use de 1 a 1024 caracteres.
form-error-note = A nota é longa demais ou contém caracteres que não podem ser exibidos: no máximo 500 caracteres.
ttl-hours = { $count ->
    [one] { $count } hora
   *[other] { $count } horas
}
ttl-days = { $count ->
    [one] { $count } dia
   *[other] { $count } dias
}

## Push: the result page
created-title = Link criado
created-heading = Seu link está pronto
created-link = Link para o destinatário
created-link-hint = { $views ->
    [one] Envie este link ao destinatário. Ele funciona uma vez e expira { $expires }.
   *[other] Envie este link ao destinatário. Ele funciona { $views } vezes e expira { $expires }.
} O link inteiro é necessário, inclusive a parte depois de #.
created-qr = Código QR do link, para abri-lo em um celular
created-passphrase = Envie a frase secreta separadamente, por outro canal que não o do link. Sem ela, o link não exibe o segredo.
manage-heading = Guarde só para você: seu link de gerenciamento
manage-link = Link de gerenciamento
manage-hint = Ele mostra quando e de onde o segredo foi exibido e permite excluí-lo antes do uso. Não o envie ao destinatário.
create-another = Criar outro

## The recipient's page
reveal-title = Exibir um segredo
checking-link = Verificando o link…
ready-heading = Alguém compartilhou um segredo com você
fact-expires = Expira
fact-views = Visualizações
fact-created = Criado
fact-ended = Encerrado
fact-failed = Frases secretas erradas
recipient-passphrase-hint = O remetente deve tê-la enviado separadamente do link.
reveal-button = Exibir segredo
reveal-hint = Exibir usa uma das visualizações restantes. Abrir esta página não.
revealed-heading = O segredo
delete-remaining = Excluir as visualizações restantes
gone-heading = Este segredo não está disponível

## The sender's manage page
status-title = Status do segredo
loading-status = Carregando o status…
reveals-heading = Exibições
activity-heading = Atividade
col-time = Hora
col-ip = Endereço IP
col-browser = Navegador
col-event = Evento
col-by = Por
refresh = Atualizar
delete-now = Excluir agora

## Browser-side messages
js-network = Não foi possível acessar o servidor. Verifique sua conexão e tente novamente.
js-generic = Algo deu errado; tente novamente.
js-unknown-time = Desconhecida
js-now = agora
js-in-less-than-a-minute = em menos de um minuto
js-copied = Copiado
js-copy-failed = Falha ao copiar
js-copied-announce = Copiado para a área de transferência.
js-copy-failed-announce = Não foi possível copiar automaticamente. O texto está selecionado; copie-o pelo teclado ou pelo menu.
js-incomplete = Este link está incompleto: falta a parte depois de #. Peça ao remetente que copie o link inteiro.
js-not-found = Este link não é válido: o segredo já foi exibido, expirou ou o link está incompleto.
js-revoked = O remetente excluiu este segredo.
js-applied = Este segredo foi aplicado à configuração de um cliente e excluído aqui.
js-applied-at = Este segredo foi aplicado à configuração de um cliente às { $time } e excluído aqui.
js-destroyed = Este segredo foi destruído após frases secretas erradas demais.
js-destroyed-now = Frases secretas erradas demais: o segredo foi destruído.
js-passphrase-required = Este segredo é protegido por uma frase secreta. O remetente deve tê-la enviado separadamente do link.
js-deleted = Este segredo foi excluído do servidor. Guarde-o agora onde ele deve ficar; esta página não o exibirá de novo.
js-unconfirmed = O servidor não conseguiu confirmar a exibição. Clique em Exibir de novo: em até um minuto você recebe o mesmo segredo.
js-already-revealed = Este segredo já foi exibido. Se não foi você, o link foi interceptado: peça um novo segredo ao remetente.
js-already-revealed-at = Este segredo já foi exibido às { $time }. Se não foi você, o link foi interceptado: peça um novo segredo ao remetente.
js-revealed-at = Você exibiu isto às { $time }; foi excluído do servidor.
js-revealed-remaining = Você exibiu isto às { $time }. Ele fica até as visualizações acabarem ou ele expirar.
js-revealing = Exibindo…
js-wrong-passphrase = Frase secreta errada.
js-wrong-passphrase-left-one = Frase secreta errada. Resta { $count } tentativa antes de o segredo ser destruído.
js-wrong-passphrase-left-other = Frase secreta errada. Restam { $count } tentativas antes de o segredo ser destruído.
js-views-of-one = Resta { $left } de { $allowed } visualização
js-views-of-other = Restam { $left } de { $allowed } visualizações
js-more-views-one = Resta mais { $count } visualização. Qualquer pessoa com o link inteiro pode usá-la até o link expirar.
js-more-views-other = Restam mais { $count } visualizações. Qualquer pessoa com o link inteiro pode usá-las até o link expirar.
js-delete-remaining-confirm = Excluir este segredo agora, com as visualizações restantes? O link deixa de funcionar para todos.
js-deleted-remaining = Excluído: o link não funciona mais para ninguém.
js-manage-incomplete = Este link de gerenciamento está incompleto: falta a parte depois de #. Copie o link de gerenciamento inteiro.
js-manage-gone = Este segredo expirou e seu registro foi excluído, ou o link de gerenciamento está incompleto.
js-confirm-delete = Excluir este segredo agora? O link para de funcionar na hora. Não é possível desfazer.
js-state-live = Aguardando exibição
js-state-revealed = Exibido — excluído do servidor
js-state-revoked = Excluído por você
js-state-destroyed = Destruído após frases secretas erradas demais
js-no-reveals = Ninguém o exibiu ainda.
js-views-used-one = { $used } de { $allowed } visualização usada
js-views-used-other = { $used } de { $allowed } visualizações usadas
js-event-created = Criado
js-event-viewed = Link aberto
js-event-revealed = Exibido
js-event-passphrase-failed = Frase secreta errada
js-event-destroyed = Destruído
js-event-revoked = Excluído
js-event-expired = Expirou sem leitura
js-you = você
js-someone = o destinatário
js-browser-on = { $browser } no { $os }

## The customer's request page
req-title = Novo segredo do cliente
req-asks = { $vendor } pede um novo segredo do cliente
req-lead = É para este registro de aplicativo no Microsoft Entra ID:
req-tenant = Cliente
req-entra-tenant = Locatário do Entra
req-client-id = Aplicativo (ID do cliente)
req-link-expires = Este link expira
req-copy-tenant = Copiar o locatário
req-copy-client-id = Copiar o ID do cliente
req-what-to-do = O que fazer
req-step-sign-in = Entre no centro de administração do Microsoft Entra como administrador deste locatário:
req-step-open-app = Vá em Aplicativos → Registros de aplicativo → Todos os aplicativos e abra o aplicativo com este ID do aplicativo (cliente):
req-step-new-secret = Abra Certificados e segredos → Segredos do cliente → Novo segredo do cliente; escolha uma validade.
req-step-direct = Ou vá direto:
req-step-direct-link = Certificados e segredos deste aplicativo
req-step-copy-value = Copie logo a coluna Valor: ela aparece só uma vez. Não o ID do segredo.
req-step-paste = Cole-o abaixo.
req-field-secret = Valor do segredo do cliente
req-field-expiry = O segredo expira em
req-field-expiry-note = (como escolhido no passo 3)
req-expiry-unknown = Não sei
req-expiry-days = { $days } dias ({ $months } meses)
req-expiry-custom = Data personalizada
req-expiry-hint = Para que um novo segredo seja pedido antes que este pare de funcionar.
req-field-expiry-date = Data de validade
req-field-secret-id = ID do segredo, para registro
req-secret-id-hint = O GUID da coluna ID do segredo, ao lado do valor. Ele não é secreto; serve para distinguir segredos.
req-submit = Verificar e enviar
req-accepted-heading = Obrigado: o segredo foi recebido
req-close = Você pode fechar esta página.
req-closed-heading = Nada a fazer aqui
js-req-asks = { $vendor } pede um novo segredo do cliente
