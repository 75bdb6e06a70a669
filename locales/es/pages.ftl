## Every page
site-title = { $vendor }
footer-encrypted = Los secretos se cifran con una clave que solo contiene el enlace, y se eliminan al mostrarse o al caducar.
language-switch = Idioma
support-contact = ¿Preguntas? Contacte con { $vendor }:
note-from = Nota de { $vendor }

## Error pages
not-found-title = Página no encontrada
not-found-body = No hay nada en esta dirección.
go-home = Ir a la página de inicio
error-title = Algo salió mal

## Counts
views-left = { $count ->
    [one] Queda { $count } visualización
   *[other] Quedan { $count } visualizaciones
}

## Browser-side messages
js-revealed-at = Lo mostró a las { $time }; se ha eliminado del servidor.
