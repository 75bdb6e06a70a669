## Every page
site-title = { $vendor }
footer-encrypted = Os segredos são criptografados com uma chave que só o link contém e excluídos após serem exibidos ou expirarem.
language-switch = Idioma
support-contact = Dúvidas? Fale com { $vendor }:
note-from = Nota de { $vendor }

## Error pages
not-found-title = Página não encontrada
not-found-body = Não há nada neste endereço.
go-home = Ir para a página inicial
error-title = Algo deu errado

## Counts
views-left = { $count ->
    [one] Resta { $count } visualização
   *[other] Restam { $count } visualizações
}

## Browser-side messages
js-revealed-at = Você exibiu isto às { $time }; foi excluído do servidor.
