## Every page
footer-encrypted = Los secretos se cifran con una clave que solo contiene el enlace, y se eliminan al mostrarse o al caducar.
language-switch = Idioma
support-contact = ¿Preguntas? Contacte con { $vendor }:
note-from = Nota de { $vendor }
optional = (opcional)
copy = Copiar
share = Compartir…

## Error pages
not-found-title = Página no encontrada
not-found-body = No hay nada en esta dirección.
go-home = Ir a la página de inicio
error-title = Algo salió mal

## Push: the create form
create-title = Compartir un secreto
create-heading = Compartir un secreto una sola vez
create-lead = Pegue un secreto, por ejemplo un secreto de cliente de Entra ID. Obtendrá un enlace que lo muestra un número fijo de veces; después, el secreto se elimina.
field-secret = Secreto
field-secret-hint = Se cifra antes de guardarse. Solo el enlace que recibirá a continuación puede descifrarlo.
field-ttl = El enlace caduca tras
field-views = Número de visualizaciones
field-views-hint = Cada visualización consume una. Como máximo { $max }.
field-passphrase = Frase de contraseña
field-passphrase-hint = El destinatario debe introducirla antes de ver el secreto. Envíela por otro canal distinto del enlace, por ejemplo por teléfono. Demasiados intentos fallidos destruyen el secreto.
field-note = Nota para el destinatario
field-note-hint = Se muestra al destinatario antes y después de ver el secreto, por ejemplo a qué registro de aplicación pertenece. No ponga aquí el secreto.
create-button = Crear enlace
form-error-summary = No se creó el enlace. Revise el campo marcado abajo.
form-error-secret = Pegue aquí el secreto; no puede estar vacío.
form-error-secret-too-large = Este secreto es demasiado grande: como máximo { $max } bytes.
form-error-ttl = Elija uno de los plazos ofrecidos.
form-error-views = Introduzca un número entero de 1 a { $max }.
form-error-passphrase = Esta frase de contraseña no sirve: use de 1 a 1024 caracteres.
form-error-note = La nota es demasiado larga o contiene caracteres que no se pueden mostrar: como máximo 500 caracteres.
ttl-hours = { $count ->
    [one] { $count } hora
   *[other] { $count } horas
}
ttl-days = { $count ->
    [one] { $count } día
   *[other] { $count } días
}

## Push: the result page
created-title = Enlace creado
created-heading = Su enlace está listo
created-link = Enlace para el destinatario
created-link-hint = { $views ->
    [one] Envíe este enlace al destinatario. Funciona una vez y caduca { $expires }.
   *[other] Envíe este enlace al destinatario. Funciona { $views } veces y caduca { $expires }.
} Se necesita el enlace completo, incluida la parte tras #.
created-qr = Código QR del enlace, para abrirlo en un teléfono
created-passphrase = Envíe la frase de contraseña por separado, por otro canal distinto del enlace. Sin ella, el enlace no muestra el secreto.
manage-heading = Guárdelo para usted: su enlace de gestión
manage-link = Enlace de gestión
manage-hint = Muestra cuándo y desde dónde se vio el secreto, y le permite eliminarlo antes de que se use. No lo envíe al destinatario.
create-another = Crear otro

## The recipient's page
reveal-title = Ver un secreto
checking-link = Comprobando el enlace…
ready-heading = Alguien ha compartido un secreto con usted
fact-expires = Caduca
fact-views = Visualizaciones
fact-created = Creado
fact-ended = Terminado
fact-failed = Frases de contraseña erróneas
recipient-passphrase-hint = El remitente debería habérsela dado por separado del enlace.
reveal-button = Ver el secreto
reveal-hint = Ver el secreto consume una de las visualizaciones restantes. Abrir esta página, no.
revealed-heading = El secreto
delete-remaining = Eliminar las visualizaciones restantes
gone-heading = Este secreto no está disponible

## The sender's manage page
status-title = Estado del secreto
loading-status = Cargando el estado…
reveals-heading = Visualizaciones
activity-heading = Actividad
col-time = Hora
col-ip = Dirección IP
col-browser = Navegador
col-event = Evento
col-by = Por
refresh = Actualizar
delete-now = Eliminar ahora

## Browser-side messages
js-network = No se pudo contactar con el servidor. Compruebe su conexión e inténtelo de nuevo.
js-generic = Algo salió mal; inténtelo de nuevo.
js-unknown-time = Desconocida
js-now = ahora
js-in-less-than-a-minute = en menos de un minuto
js-copied = Copiado
js-copy-failed = No se pudo copiar
js-copied-announce = Copiado al portapapeles.
js-copy-failed-announce = No se pudo copiar automáticamente. El texto está seleccionado; cópielo con el teclado o el menú.
js-incomplete = Este enlace está incompleto: falta la parte tras #. Pida al remitente que copie el enlace completo.
js-not-found = Este enlace no es válido: el secreto ya se vio, caducó o el enlace está incompleto.
js-revoked = El remitente eliminó este secreto.
js-applied = Este secreto se aplicó a la configuración de un cliente y se eliminó aquí.
js-applied-at = Este secreto se aplicó a la configuración de un cliente a las { $time } y se eliminó aquí.
js-destroyed = Este secreto se destruyó tras demasiadas frases de contraseña erróneas.
js-destroyed-now = Demasiadas frases de contraseña erróneas: el secreto se destruyó.
js-passphrase-required = Este secreto está protegido con una frase de contraseña. El remitente debería habérsela dado por separado del enlace.
js-deleted = Este secreto ya se eliminó del servidor. Guárdelo ahora donde corresponda; esta página no volverá a mostrarlo.
js-unconfirmed = El servidor no pudo confirmar la visualización. Pulse de nuevo Ver: en menos de un minuto obtendrá el mismo secreto.
js-already-revealed = Este secreto ya se vio. Si no fue usted, el enlace fue interceptado: pida al remitente un secreto nuevo.
js-already-revealed-at = Este secreto ya se vio a las { $time }. Si no fue usted, el enlace fue interceptado: pida al remitente un secreto nuevo.
js-revealed-at = Lo vio a las { $time }; se ha eliminado del servidor.
js-revealed-remaining = Lo vio a las { $time }. Se mantiene hasta que se usen sus visualizaciones o caduque.
js-revealing = Mostrando…
js-wrong-passphrase = Frase de contraseña incorrecta.
js-wrong-passphrase-left-one = Frase de contraseña incorrecta. Queda { $count } intento antes de que se destruya el secreto.
js-wrong-passphrase-left-other = Frase de contraseña incorrecta. Quedan { $count } intentos antes de que se destruya el secreto.
js-views-of-one = Queda { $left } de { $allowed } visualización
js-views-of-other = Quedan { $left } de { $allowed } visualizaciones
js-more-views-one = Queda { $count } visualización más. Cualquiera con el enlace completo puede usarla hasta que caduque.
js-more-views-other = Quedan { $count } visualizaciones más. Cualquiera con el enlace completo puede usarlas hasta que caduque.
js-delete-remaining-confirm = ¿Eliminar ahora este secreto con sus visualizaciones restantes? El enlace dejará de funcionar para todos.
js-deleted-remaining = Eliminado: el enlace ya no funciona para nadie.
js-manage-incomplete = Este enlace de gestión está incompleto: falta la parte tras #. Copie el enlace de gestión completo.
js-manage-gone = Este secreto caducó y su registro se eliminó, o el enlace de gestión está incompleto.
js-confirm-delete = ¿Eliminar este secreto ahora? El enlace deja de funcionar de inmediato. No se puede deshacer.
js-state-live = Esperando a ser visto
js-state-revealed = Visto: eliminado del servidor
js-state-revoked = Eliminado por usted
js-state-destroyed = Destruido tras demasiadas frases de contraseña erróneas
js-no-reveals = Nadie lo ha visto todavía.
js-views-used-one = { $used } de { $allowed } visualización usada
js-views-used-other = { $used } de { $allowed } visualizaciones usadas
js-event-created = Creado
js-event-viewed = Enlace abierto
js-event-revealed = Visto
js-event-passphrase-failed = Frase de contraseña errónea
js-event-destroyed = Destruido
js-event-revoked = Eliminado
js-event-expired = Caducó sin leerse
js-you = usted
js-someone = el destinatario
js-browser-on = { $browser } en { $os }

## The customer's request page
req-title = Nuevo secreto de cliente
req-asks = { $vendor } solicita un nuevo secreto de cliente
req-lead = Es para este registro de aplicación en Microsoft Entra ID:
req-tenant = Cliente
req-entra-tenant = Inquilino de Entra
req-client-id = Aplicación (id. de cliente)
req-link-expires = Este enlace caduca
req-copy-tenant = Copiar el inquilino
req-copy-client-id = Copiar el id. de cliente
req-what-to-do = Qué hacer
req-step-sign-in = Inicie sesión en el Centro de administración de Microsoft Entra como administrador de este inquilino:
req-step-open-app = Vaya a Aplicaciones → Registros de aplicaciones → Todas las aplicaciones y abra la aplicación con este id. de aplicación (cliente):
req-step-new-secret = Abra Certificados y secretos → Secretos de cliente → Nuevo secreto de cliente; elija una caducidad.
req-step-direct = O vaya directamente:
req-step-direct-link = Certificados y secretos de esta aplicación
req-step-copy-value = Copie enseguida la columna Valor: solo se muestra una vez. No el id. del secreto.
req-step-paste = Péguelo abajo.
req-field-secret = Valor del secreto de cliente
req-field-expiry = El secreto caduca en
req-field-expiry-note = (como eligió en el paso 3)
req-expiry-unknown = No lo sé
req-expiry-days = { $days } días ({ $months } meses)
req-expiry-custom = Fecha personalizada
req-expiry-hint = Para poder pedir un secreto nuevo antes de que este deje de funcionar.
req-field-expiry-date = Fecha de caducidad
req-field-secret-id = Id. del secreto, para el registro
req-secret-id-hint = El GUID de la columna Id. del secreto, junto al valor. No es secreto; distingue unos secretos de otros.
req-submit = Comprobar y enviar
req-accepted-heading = Gracias: se recibió el secreto
req-close = Puede cerrar esta página.
req-closed-heading = Aquí no hay nada que hacer
js-req-asks = { $vendor } solicita un nuevo secreto de cliente
