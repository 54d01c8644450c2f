{{/*
Names, labels and render-time checks shared by every template of the devsessions chart.
*/}}

{{- define "devsessions.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "devsessions.fullname" -}}
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

{{- define "devsessions.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "devsessions.instanceLabels" -}}
app.kubernetes.io/name: {{ include "devsessions.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selects the provisioner pods only (not the migration Job's pod). */}}
{{- define "devsessions.selectorLabels" -}}
{{ include "devsessions.instanceLabels" . }}
app.kubernetes.io/component: provisioner
{{- end }}

{{- define "devsessions.metaLabels" -}}
helm.sh/chart: {{ include "devsessions.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: devsessions
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "devsessions.labels" -}}
{{ include "devsessions.metaLabels" . }}
{{ include "devsessions.selectorLabels" . }}
{{- end }}

{{- define "devsessions.migrationLabels" -}}
{{ include "devsessions.metaLabels" . }}
{{ include "devsessions.instanceLabels" . }}
app.kubernetes.io/component: migrations
{{- end }}

{{- define "devsessions.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "devsessions.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The ClusterRole the service binds in each project namespace it creates (never bound
cluster-wide). Its name reaches the service as DEVSESSIONS_PROJECT_CLUSTER_ROLE.
*/}}
{{- define "devsessions.projectClusterRole" -}}
{{- printf "%s-project" (include "devsessions.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "devsessions.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The grace period the pod gets on SIGTERM: it must outlast the slowest Helm call, because the
service drains in-flight Helm work before it exits.
*/}}
{{- define "devsessions.terminationGracePeriodSeconds" -}}
{{- $helm := int .Values.config.helmTimeoutSeconds }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $helm 60 }}
{{- else }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- if le $grace $helm }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than config.helmTimeoutSeconds (%d)" $grace $helm) }}
{{- end }}
{{- $grace }}
{{- end }}
{{- end }}

{{/*
Checks across values that the JSON schema cannot express.
*/}}
{{- define "devsessions.validate" -}}
{{- $partitions := int .Values.kafka.inputTopicPartitions }}
{{- if .Values.keda.enabled }}
{{- if gt (int .Values.keda.maxReplicaCount) $partitions }}
{{- fail (printf "keda.maxReplicaCount (%d) exceeds kafka.inputTopicPartitions (%d): extra consumers would sit idle" (int .Values.keda.maxReplicaCount) $partitions) }}
{{- end }}
{{- if gt (int .Values.keda.minReplicaCount) (int .Values.keda.maxReplicaCount) }}
{{- fail "keda.minReplicaCount must not exceed keda.maxReplicaCount" }}
{{- end }}
{{- else if gt (int .Values.replicaCount) $partitions }}
{{- fail (printf "replicaCount (%d) exceeds kafka.inputTopicPartitions (%d): extra consumers would sit idle" (int .Values.replicaCount) $partitions) }}
{{- end }}
{{- end }}

{{/*
The service's environment: settings from .Values.config, the database URL from a Secret,
helm's writable homes on the /tmp emptyDir (the root filesystem is read-only).
*/}}
{{- define "devsessions.env" -}}
- name: DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.config.kafkaBootstrapServers | quote }}
- name: DEVSESSIONS_INPUT_TOPIC
  value: {{ .Values.config.inputTopic | quote }}
- name: DEVSESSIONS_OUTPUT_TOPIC
  value: {{ .Values.config.outputTopic | quote }}
- name: DEVSESSIONS_DEAD_LETTER_TOPIC
  value: {{ .Values.config.deadLetterTopic | quote }}
- name: DEVSESSIONS_CONSUMER_GROUP
  value: {{ .Values.config.consumerGroup | quote }}
- name: DEVSESSIONS_WORKER_CONCURRENCY
  value: {{ .Values.config.workerConcurrency | quote }}
- name: DEVSESSIONS_HELM_TIMEOUT_SECONDS
  value: {{ .Values.config.helmTimeoutSeconds | quote }}
- name: DEVSESSIONS_READY_TIMEOUT_SECONDS
  value: {{ .Values.config.readyTimeoutSeconds | quote }}
- name: DEVSESSIONS_PUBLIC_URL_TEMPLATE
  value: {{ .Values.config.publicUrlTemplate | quote }}
- name: DEVSESSIONS_LOG_JSON
  value: {{ .Values.config.logJson | quote }}
- name: DEVSESSIONS_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- with .Values.config.helmBinary }}
- name: DEVSESSIONS_HELM_BINARY
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.chartPath }}
- name: DEVSESSIONS_CHART_PATH
  value: {{ . | quote }}
{{- end }}
- name: DEVSESSIONS_IMAGE_ALLOW_LIST
  value: {{ join "," .Values.config.imageAllowList | quote }}
- name: DEVSESSIONS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret.name | quote }}
      key: {{ .Values.database.existingSecret.key | quote }}
- name: HOME
  value: /tmp
- name: HELM_CACHE_HOME
  value: /tmp/helm/cache
- name: HELM_CONFIG_HOME
  value: /tmp/helm/config
- name: HELM_DATA_HOME
  value: /tmp/helm/data
{{- end }}

{{- define "devsessions.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
