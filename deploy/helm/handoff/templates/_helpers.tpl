{{/* Names and labels, as `helm create` makes them. */}}
{{- define "handoff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "handoff.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "handoff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "handoff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "handoff.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "handoff.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret and key holding the server key: an existing one, or the chart's. */}}
{{- define "handoff.serverKeySecret" -}}
{{- .Values.serverKey.existingSecret | default (include "handoff.fullname" .) }}
{{- end }}
{{- define "handoff.serverKeySecretKey" -}}
{{- if .Values.serverKey.existingSecret }}{{ .Values.serverKey.existingSecretKey }}{{ else }}server-key{{ end }}
{{- end }}

{{/* The same for the metrics token; empty when there is none. */}}
{{- define "handoff.metricsTokenSecret" -}}
{{- if .Values.metrics.token.existingSecret }}{{ .Values.metrics.token.existingSecret }}
{{- else if .Values.metrics.token.value }}{{ include "handoff.fullname" . }}
{{- end }}
{{- end }}
{{- define "handoff.metricsTokenSecretKey" -}}
{{- if .Values.metrics.token.existingSecret }}{{ .Values.metrics.token.existingSecretKey }}{{ else }}metrics-token{{ end }}
{{- end }}

{{/* Stops the render with a message naming the value that is wrong. */}}
{{- define "handoff.validate" -}}
{{- if not .Values.publicUrl }}
{{- fail "publicUrl is required: the base URL in every link, e.g. https://handoff.example.com" }}
{{- end }}
{{- if not .Values.store.existingSecret }}
{{- if not .Values.store.url }}
{{- fail "store.url (or store.existingSecret) is required: the replicas share one Redis, e.g. redis://redis:6379/0" }}
{{- end }}
{{- if not (regexMatch "^rediss?(\\+cluster)?://" .Values.store.url) }}
{{- fail "store.url must be a redis:// or rediss:// URL: the embedded store is for one process" }}
{{- end }}
{{- end }}
{{- if not (or .Values.serverKey.existingSecret .Values.serverKey.value) }}
{{- fail "serverKey.existingSecret or serverKey.value is required: every replica needs the same server key (handoff server-key prints one)" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not (include "handoff.metricsTokenSecret" .)) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.token.existingSecret or metrics.token.value: /metrics takes a bearer token" }}
{{- end }}
{{- end }}
