{{/*
Shared names, labels and guards of the dev session chart.

Object names are fixed short names: each project namespace holds exactly one session,
and Service names must be DNS-1035 labels, which a UUID starting with a digit is not.
*/}}

{{/* The endpoints in a fixed order: container, Service and Ingress path per entry. */}}
{{- define "dev-session.endpoints" -}}
preview chat vscode
{{- end -}}

{{/* helm.sh/chart: chart name and version. */}}
{{- define "dev-session.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* An integer value rendered as a decimal string (YAML numbers arrive as float64). */}}
{{- define "dev-session.int" -}}
{{- . | int64 | toString -}}
{{- end -}}

{{/* Selector labels: the stable subset, never changed after install. */}}
{{- define "dev-session.selectorLabels" -}}
app.kubernetes.io/name: dev-session
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object. Call with (dict "root" $ "component" "<component>").
devsessions.io/project-uuid lets the service find every object it owns by selector.
*/}}
{{- define "dev-session.labels" -}}
{{- $root := .root -}}
{{ include "dev-session.selectorLabels" $root }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: devsessions
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "dev-session.chart" $root }}
devsessions.io/project-uuid: {{ $root.Values.project.uuid | quote }}
devsessions.io/project-id: {{ include "dev-session.int" $root.Values.project.id | quote }}
devsessions.io/user-id: {{ include "dev-session.int" $root.Values.user.id | quote }}
{{- end -}}

{{/*
Cross-field checks JSON Schema cannot express: the three ports and the three paths
must be distinct, and the release must live in the project's own namespace.
*/}}
{{- define "dev-session.validate" -}}
{{- $ports := dict -}}
{{- $paths := dict -}}
{{- range $name := splitList " " (include "dev-session.endpoints" .) -}}
{{- $c := index $.Values.containers $name -}}
{{- $port := include "dev-session.int" $c.port -}}
{{- if hasKey $ports $port -}}
{{- fail (printf "containers.%s.port: port %s is already used by containers.%s" $name $port (get $ports $port)) -}}
{{- end -}}
{{- $_ := set $ports $port $name -}}
{{- if hasKey $paths $c.path -}}
{{- fail (printf "containers.%s.path: path %s is already used by containers.%s" $name $c.path (get $paths $c.path)) -}}
{{- end -}}
{{- $_ := set $paths $c.path $name -}}
{{- end -}}
{{- if ne .Release.Namespace .Values.project.uuid -}}
{{- fail (printf "release namespace %q must be the project namespace %q (project.uuid); create it first and install with --namespace" .Release.Namespace .Values.project.uuid) -}}
{{- end -}}
{{- end -}}

{{/* Environment the chart sets in a container. Call with (dict "root" $ "name" "<endpoint>"). */}}
{{- define "dev-session.reservedEnv" -}}
{{- $root := .root -}}
{{- $c := index $root.Values.containers .name -}}
- name: DEVSESSIONS_PROJECT_UUID
  value: {{ $root.Values.project.uuid | quote }}
- name: DEVSESSIONS_PROJECT_ID
  value: {{ include "dev-session.int" $root.Values.project.id | quote }}
- name: DEVSESSIONS_USER_ID
  value: {{ include "dev-session.int" $root.Values.user.id | quote }}
- name: DEVSESSIONS_ENDPOINT
  value: {{ .name | quote }}
- name: DEVSESSIONS_PORT
  value: {{ include "dev-session.int" $c.port | quote }}
- name: DEVSESSIONS_BASE_PATH
  value: {{ $c.path | quote }}
- name: DEVSESSIONS_WORKSPACE
  value: {{ $root.Values.persistence.mountPath | quote }}
{{- end -}}
