package deploy

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
)

// Environment returns the STEPCQRS_* variables under which
// core.ConfigFromEnv reads c back: the function's environment of a
// deployment whose resources are named as c names them. Use it to run the
// service's binary elsewhere (the Lambda Runtime Interface Emulator, a
// Terraform or CDK stack of your own). Every resource name is given
// explicitly, derived ones included; settings at their zero value are
// left out. The state machine ARNs are set when c has them.
func Environment(c core.Config) map[string]string {
	out := map[string]string{}
	for _, v := range envVars(configNames{c}, c, true) {
		out[v.name] = v.value
	}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set(core.EnvCommandStateMachineARN, c.CommandStateMachineARN)
	set(core.EnvTaskStateMachineARN, c.TaskStateMachineARN)
	set(core.EnvImportStateMachineARN, c.ImportStateMachineARN)
	set(core.EnvImportQueue, c.ImportQueueName)
	return out
}

// namer names the resources in the environment: by a core.Config
// (configNames) or by the template's values (templateNames).
type namer interface {
	env() string
	prefix() string
	bucket() string
	name(override, suffix string) string
}

type configNames struct{ c core.Config }

func (n configNames) env() string    { return n.c.Env }
func (n configNames) prefix() string { return n.c.Prefix() }
func (n configNames) bucket() string { return n.c.Bucket() }
func (n configNames) name(override, suffix string) string {
	if override != "" {
		return override
	}
	return n.c.Prefix() + suffix
}

type templateNames struct{ b *Builder }

func (n templateNames) env() string                         { return ref(paramEnvironment) }
func (n templateNames) prefix() string                      { return n.b.Prefix() }
func (n templateNames) bucket() string                      { return ref("Bucket") }
func (n templateNames) name(override, suffix string) string { return n.b.nameOr(override, suffix) }

type envVar struct{ name, value string }

// envVars lists the variables of c's names and settings.
func envVars(n namer, c core.Config, tasks bool) []envVar {
	vars := []envVar{
		{core.EnvEnv, n.env()},
		{core.EnvAppName, c.AppName},
		{core.EnvTablePrefix, n.prefix()},
		{core.EnvBucket, n.bucket()},
		{core.EnvNotificationTopic, n.name(c.NotificationTopicName, "notification")},
		{core.EnvAlarmTopic, n.name(c.AlarmTopicName, "alarm")},
		{core.EnvNotificationQueue, n.name(c.NotificationQueueName, "notification-queue")},
	}
	if tasks {
		vars = append(vars,
			envVar{core.EnvTaskQueue, n.name(c.TaskQueueName, "task-queue")},
			envVar{core.EnvTaskDLQ, n.name(c.TaskDLQName, "task-dlq")})
	}
	num := func(k string, v int) {
		if v != 0 {
			vars = append(vars, envVar{k, strconv.Itoa(v)})
		}
	}
	str := func(k, v string) {
		if v != "" {
			vars = append(vars, envVar{k, v})
		}
	}
	num(core.EnvAttributeOffloadBytes, c.AttributeOffloadBytes)
	num(core.EnvCommandTTLDays, c.TTL.Command)
	num(core.EnvDataTTLDays, c.TTL.Data)
	num(core.EnvHistoryTTLDays, c.TTL.History)
	str(core.EnvTenantTTLDays, tenantTTL(c))
	str(core.EnvTenantClaim, c.TenantClaim)
	str(core.EnvTenantHeader, c.TenantHeader)
	str(core.EnvTenantHeaderMode, string(c.TenantHeaderMode))
	if c.RequireInvoke {
		vars = append(vars, envVar{core.EnvRequireInvoke, "true"})
	}
	return vars
}

// tenantTTL writes c.TenantTTL in the STEPCQRS_TENANT_TTL_DAYS syntax,
// "tenant:command=N,data=N,history=N;…", tenants sorted.
func tenantTTL(c core.Config) string {
	var entries []string
	for _, t := range slices.Sorted(maps.Keys(c.TenantTTL)) {
		d := c.TenantTTL[t]
		entries = append(entries, t+":command="+strconv.Itoa(d.Command)+",data="+strconv.Itoa(d.Data)+",history="+strconv.Itoa(d.History))
	}
	return strings.Join(entries, ";")
}
