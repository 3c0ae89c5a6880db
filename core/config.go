package core

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TableKind is the kind of a per-module table: command, data or history.
type TableKind string

// Table kinds. The kind is also the table name's suffix after the module
// name and a hyphen.
const (
	CommandTableKind TableKind = "command"
	DataTableKind    TableKind = "data"
	HistoryTableKind TableKind = "history"
)

// System table names, after the table prefix.
const (
	TasksTableName  = "tasks"
	ImportTableName = "import"
)

// DefaultAttributeOffloadBytes is the default of
// Config.AttributeOffloadBytes: 256 KiB of JSON.
//
// Why this number. Step Functions' 256 KB payload limit, which made the
// reference framework lower its limit to 100 KB, does not bind here: stepcqrs
// passes only keys through executions, queues and topics, never attributes.
// What binds is DynamoDB's 400 KB item limit (MaxItemBytes), measured in
// DynamoDB's encoding, not in JSON: numbers and the per-element overhead of
// lists and maps can make an attributes map up to about 1.5 times its JSON
// size (a list of small numbers: 2 JSON bytes, 3 DynamoDB bytes per element).
// 256 KiB × 1.5 = 384 KiB leaves 16 KiB for the other fields of the row (keys,
// audit fields, status, a task token). Larger values are safe for text-heavy
// attributes; a row that still does not fit is rejected with ErrItemTooLarge.
const DefaultAttributeOffloadBytes = 256 * 1024

// MaxTTLDays bounds every TTL setting (100 years).
const MaxTTLDays = 36500

// TTLDays holds time-to-live settings, in days, per table kind. Zero means
// "never expires". Command applies to superseded command versions (the
// latest version of an entity's command never gets a TTL from it), Data to
// data rows, History to history rows.
type TTLDays struct {
	Command int
	Data    int
	History int
}

// Days returns the setting for kind; 0 for an unknown kind.
func (d TTLDays) Days(kind TableKind) int {
	switch kind {
	case CommandTableKind:
		return d.Command
	case DataTableKind:
		return d.Data
	case HistoryTableKind:
		return d.History
	}
	return 0
}

// Expiry returns the value of the "ttl" attribute (epoch seconds) of a row
// of kind written at now, or 0 when rows of that kind do not expire.
func (d TTLDays) Expiry(kind TableKind, now time.Time) int64 {
	days := d.Days(kind)
	if days <= 0 {
		return 0
	}
	return now.Unix() + int64(days)*86400
}

// Config is the deployment configuration all parts of a stepcqrs service
// share: resource names, limits and TTLs. Build it with ConfigFromEnv or as
// a literal (DefaultConfig is one), and check it with Validate.
//
// Only Env and AppName (or TablePrefix) are required. Every resource name
// left empty is derived from the prefix when asked for, so changing Env or
// AppName never leaves stale names behind: read names through the methods
// (TaskQueue, Bucket, …), not the *Name fields, which hold overrides only.
// Queues and topics are named by name (the ports resolve names), state
// machines by ARN.
type Config struct {
	// Env is the deployment stage, e.g. "dev", "stg", "prod", "local"
	// (NODE_ENV in the reference framework).
	Env string
	// AppName is the application name (APP_NAME in the reference).
	AppName string
	// TablePrefix starts every table name and derived resource name. Empty
	// means "{Env}-{AppName}-", the reference framework's prefix.
	TablePrefix string

	// Region is the AWS region; empty lets the AWS SDK decide.
	Region string
	// Endpoint is an AWS-compatible endpoint URL (LocalStack, moto); empty
	// means the real AWS endpoints.
	Endpoint string

	// BucketName overrides Bucket(): the S3 bucket of offloaded attributes
	// and import files.
	BucketName string
	// NotificationTopicName overrides NotificationTopic().
	NotificationTopicName string
	// AlarmTopicName overrides AlarmTopic().
	AlarmTopicName string
	// TaskQueueName overrides TaskQueue().
	TaskQueueName string
	// TaskDLQName overrides TaskDLQ().
	TaskDLQName string
	// NotificationQueueName overrides NotificationQueue().
	NotificationQueueName string
	// ImportQueueName overrides ImportQueue().
	ImportQueueName string

	// CommandStateMachineARN, TaskStateMachineARN and ImportStateMachineARN
	// are the ARNs of the deployed state machines. Empty means "not
	// deployed"; the capability that needs one reports the gap when used.
	CommandStateMachineARN string
	TaskStateMachineARN    string
	ImportStateMachineARN  string

	// AttributeOffloadBytes: attributes whose JSON encoding is larger are
	// stored in the bucket and replaced by an s3:// reference. Zero means
	// DefaultAttributeOffloadBytes (see there for why); read it with
	// OffloadThreshold.
	AttributeOffloadBytes int

	// TTL holds the default TTLs.
	TTL TTLDays
	// TenantTTL overrides TTL for the tenants it names (lower-case tenant
	// codes). Each entry is complete: it replaces TTL for its tenant.
	TenantTTL map[string]TTLDays

	// TenantClaim, TenantHeader and TenantHeaderMode configure the
	// InvokeResolver; see there for their meaning and defaults.
	TenantClaim      string
	TenantHeader     string
	TenantHeaderMode TenantHeaderMode

	// RequireInvoke makes every tenant check refuse a context without an
	// Invoke (see AuthorizeTenant). Off by default, so that tests and
	// trusted in-process callers need not build one; turn it on in a
	// service reached from outside.
	RequireInvoke bool
}

// DefaultConfig returns the configuration of a local run: Env "local",
// AppName "app", every other setting at its default (names derived from the
// prefix "local-app-", no state machines, DefaultAttributeOffloadBytes, no
// TTLs, tenant from the "custom:tenant" claim only). A deployment sets at
// least Env and AppName.
func DefaultConfig() Config {
	return Config{Env: "local", AppName: "app"}
}

// name returns override, or the prefix followed by suffix.
func (c Config) name(override, suffix string) string {
	if override != "" {
		return override
	}
	return c.Prefix() + suffix
}

// Bucket returns BucketName, or "{prefix}objects" lower-cased (S3 bucket
// names are lower-case).
func (c Config) Bucket() string {
	if c.BucketName != "" {
		return c.BucketName
	}
	return strings.ToLower(c.Prefix() + "objects")
}

// NotificationTopic returns NotificationTopicName, or "{prefix}notification".
func (c Config) NotificationTopic() string { return c.name(c.NotificationTopicName, "notification") }

// AlarmTopic returns AlarmTopicName, or "{prefix}alarm".
func (c Config) AlarmTopic() string { return c.name(c.AlarmTopicName, "alarm") }

// TaskQueue returns TaskQueueName, or "{prefix}task-queue".
func (c Config) TaskQueue() string { return c.name(c.TaskQueueName, "task-queue") }

// TaskDLQ returns TaskDLQName, or "{prefix}task-dlq".
func (c Config) TaskDLQ() string { return c.name(c.TaskDLQName, "task-dlq") }

// NotificationQueue returns NotificationQueueName, or
// "{prefix}notification-queue".
func (c Config) NotificationQueue() string {
	return c.name(c.NotificationQueueName, "notification-queue")
}

// ImportQueue returns ImportQueueName, or "{prefix}import-queue".
func (c Config) ImportQueue() string { return c.name(c.ImportQueueName, "import-queue") }

// OffloadThreshold returns AttributeOffloadBytes, or
// DefaultAttributeOffloadBytes when it is zero.
func (c Config) OffloadThreshold() int {
	if c.AttributeOffloadBytes == 0 {
		return DefaultAttributeOffloadBytes
	}
	return c.AttributeOffloadBytes
}

// Prefix returns the table (and default resource) name prefix: TablePrefix,
// or "{Env}-{AppName}-".
func (c Config) Prefix() string {
	if c.TablePrefix != "" {
		return c.TablePrefix
	}
	return c.Env + "-" + c.AppName + "-"
}

// Table returns the name of module's table of kind:
// "{prefix}{module}-{kind}".
func (c Config) Table(module string, kind TableKind) string {
	return c.Prefix() + module + "-" + string(kind)
}

// CommandTable returns "{prefix}{module}-command".
func (c Config) CommandTable(module string) string { return c.Table(module, CommandTableKind) }

// DataTable returns "{prefix}{module}-data".
func (c Config) DataTable(module string) string { return c.Table(module, DataTableKind) }

// HistoryTable returns "{prefix}{module}-history".
func (c Config) HistoryTable(module string) string { return c.Table(module, HistoryTableKind) }

// TasksTable returns "{prefix}tasks".
func (c Config) TasksTable() string { return c.Prefix() + TasksTableName }

// ImportTable returns "{prefix}import".
func (c Config) ImportTable() string { return c.Prefix() + ImportTableName }

// ParseTable is the inverse of Table: it splits a full table name (or a
// DynamoDB table or stream ARN) into module and kind. ok is false for names
// without the prefix or a known kind suffix, and for the system tables.
func (c Config) ParseTable(name string) (module string, kind TableKind, ok bool) {
	if strings.HasPrefix(name, "arn:") {
		// arn:aws:dynamodb:region:account:table/NAME[/stream/LABEL]
		i := strings.Index(name, ":table/")
		if i < 0 {
			return "", "", false
		}
		name = name[i+len(":table/"):]
		if j := strings.IndexByte(name, '/'); j >= 0 {
			name = name[:j]
		}
	}
	rest, found := strings.CutPrefix(name, c.Prefix())
	if !found {
		return "", "", false
	}
	for _, k := range []TableKind{CommandTableKind, DataTableKind, HistoryTableKind} {
		if m, found := strings.CutSuffix(rest, "-"+string(k)); found && m != "" {
			return m, k, true
		}
	}
	return "", "", false
}

// TTLFor returns the TTLs of tenantCode: its TenantTTL entry, else TTL.
func (c Config) TTLFor(tenantCode string) TTLDays {
	if d, ok := c.TenantTTL[strings.ToLower(tenantCode)]; ok {
		return d
	}
	return c.TTL
}

// InvokeResolver returns the InvokeResolver configured by TenantClaim,
// TenantHeader and TenantHeaderMode.
func (c Config) InvokeResolver() InvokeResolver {
	return InvokeResolver{TenantClaim: c.TenantClaim, TenantHeader: c.TenantHeader, HeaderMode: c.TenantHeaderMode}
}

// ValidateModule reports whether module can name a CQRS module: its three
// table names must be valid DynamoDB table names. Call it when a module is
// registered, so a bad name fails at start-up.
func (c Config) ValidateModule(module string) error {
	var p problems
	switch {
	case module == "":
		p.add("module name is empty")
	case !tableNameChars.MatchString(module):
		p.add(fmt.Sprintf("module %q: only letters, digits, '_', '.' and '-' are allowed", module))
	default:
		// The history table has the longest name of the three.
		p.tableName("module "+strconv.Quote(module)+" history table", c.HistoryTable(module))
	}
	return p.err()
}

// Validate reports every problem of c at once, as one *ValidationError (nil
// when there is none): missing Env or AppName, names that break DynamoDB,
// SQS, SNS or S3 naming rules, malformed ARNs or endpoint, an out-of-range
// offload threshold, negative or too large TTLs, an unknown tenant header
// mode.
func (c Config) Validate() error {
	var p problems
	c.validate(&p)
	return p.err()
}

func (c Config) validate(p *problems) {
	if c.TablePrefix == "" {
		if c.Env == "" {
			p.add("Env is empty")
		}
		if c.AppName == "" {
			p.add("AppName is empty")
		}
	}
	if c.TablePrefix != "" || (c.Env != "" && c.AppName != "") {
		if !tableNameChars.MatchString(c.Prefix()) {
			p.add(fmt.Sprintf("table prefix %q: only letters, digits, '_', '.' and '-' are allowed", c.Prefix()))
		} else {
			p.tableName("tasks table", c.TasksTable())
			p.tableName("import table", c.ImportTable())
		}
	}
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		p.add(fmt.Sprintf("Region %q is not a region name like us-east-1", c.Region))
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(fmt.Sprintf("Endpoint %q is not an http(s) URL", c.Endpoint))
		}
	}
	// Without a usable prefix, names are not derived: the missing Env or
	// AppName or the bad prefix is the problem to report, not each name.
	prefixKnown := c.TablePrefix != "" || (c.Env != "" && c.AppName != "")
	derive := prefixKnown && tableNameChars.MatchString(c.Prefix())
	names := []struct {
		field, override, value string
		check                  func(p *problems, field, value string)
	}{
		{"BucketName", c.BucketName, c.Bucket(), (*problems).bucketName},
		{"NotificationTopicName", c.NotificationTopicName, c.NotificationTopic(), (*problems).topicName},
		{"AlarmTopicName", c.AlarmTopicName, c.AlarmTopic(), (*problems).topicName},
		{"TaskQueueName", c.TaskQueueName, c.TaskQueue(), (*problems).queueName},
		{"TaskDLQName", c.TaskDLQName, c.TaskDLQ(), (*problems).queueName},
		{"NotificationQueueName", c.NotificationQueueName, c.NotificationQueue(), (*problems).queueName},
		{"ImportQueueName", c.ImportQueueName, c.ImportQueue(), (*problems).queueName},
	}
	for _, n := range names {
		if n.override == "" && !derive {
			continue // the prefix is the problem
		}
		field := n.field
		if n.override == "" {
			field += " (derived)"
		}
		n.check(p, field, n.value)
	}
	if prefixKnown && c.TaskQueue() == c.TaskDLQ() {
		p.add(fmt.Sprintf("TaskDLQName %q is the task queue itself", c.TaskDLQ()))
	}
	p.stateMachineARN("CommandStateMachineARN", c.CommandStateMachineARN)
	p.stateMachineARN("TaskStateMachineARN", c.TaskStateMachineARN)
	p.stateMachineARN("ImportStateMachineARN", c.ImportStateMachineARN)
	if c.AttributeOffloadBytes < 0 || c.AttributeOffloadBytes > MaxItemBytes {
		p.add(fmt.Sprintf("AttributeOffloadBytes %d is outside 0..%d (0: the default)", c.AttributeOffloadBytes, MaxItemBytes))
	}
	p.ttl("TTL", c.TTL)
	tenants := make([]string, 0, len(c.TenantTTL))
	for t := range c.TenantTTL {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		switch {
		case t == "":
			p.add("TenantTTL has an empty tenant code")
		case checkTenantCode(t) != nil:
			p.add(fmt.Sprintf("TenantTTL tenant %q: %v", t, checkTenantCode(t)))
		}
		p.ttl(fmt.Sprintf("TenantTTL[%q]", t), c.TenantTTL[t])
	}
	if err := c.InvokeResolver().Validate(); err != nil {
		p.add(fmt.Sprintf("TenantHeaderMode %q: want %q, %q or %q", c.TenantHeaderMode,
			TenantHeaderIgnore, TenantHeaderWithinClaim, TenantHeaderFallback))
	}
}

// Naming rules.
var (
	tableNameChars = regexp.MustCompile(`^[a-zA-Z0-9_.-]*$`)
	// SQS: 1-80 alphanumerics, hyphens, underscores; FIFO queues end in .fifo.
	queueNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,75}(\.fifo)?$|^[a-zA-Z0-9_-]{1,80}$`)
	// SNS: 1-256 alphanumerics, hyphens, underscores; FIFO topics end in .fifo.
	topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,251}(\.fifo)?$|^[a-zA-Z0-9_-]{1,256}$`)
	// S3 general purpose buckets: 3-63 lower-case letters, digits, '.', '-',
	// starting and ending with a letter or digit.
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME
	stateMachineARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:stateMachine:[a-zA-Z0-9_-]{1,80}$`)
)

// problems collects validation problems in order.
type problems struct{ list []string }

func (p *problems) add(s string) { p.list = append(p.list, s) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

func (p *problems) tableName(what, name string) {
	switch {
	case len(name) < 3 || len(name) > 255:
		p.add(fmt.Sprintf("%s name %q: DynamoDB table names have 3 to 255 characters", what, name))
	case !tableNameChars.MatchString(name):
		p.add(fmt.Sprintf("%s name %q: only letters, digits, '_', '.' and '-' are allowed", what, name))
	}
}

func (p *problems) queueName(field, name string) {
	if !queueNameRE.MatchString(name) {
		p.add(fmt.Sprintf("%s %q: SQS queue names have 1 to 80 letters, digits, '-' or '_' (FIFO: ending in .fifo)", field, name))
	}
}

func (p *problems) topicName(field, name string) {
	if !topicNameRE.MatchString(name) {
		p.add(fmt.Sprintf("%s %q: SNS topic names have 1 to 256 letters, digits, '-' or '_' (FIFO: ending in .fifo)", field, name))
	}
}

func (p *problems) bucketName(field, name string) {
	if !bucketNameRE.MatchString(name) || strings.Contains(name, "..") {
		p.add(fmt.Sprintf("%s %q: S3 bucket names have 3 to 63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit", field, name))
	}
}

func (p *problems) stateMachineARN(field, arn string) {
	if arn != "" && !stateMachineARNRE.MatchString(arn) {
		p.add(fmt.Sprintf("%s %q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", field, arn))
	}
}

func (p *problems) ttl(field string, d TTLDays) {
	for _, k := range []struct {
		kind TableKind
		days int
	}{{CommandTableKind, d.Command}, {DataTableKind, d.Data}, {HistoryTableKind, d.History}} {
		if k.days < 0 || k.days > MaxTTLDays {
			p.add(fmt.Sprintf("%s %s TTL %d days is outside 0..%d", field, k.kind, k.days, MaxTTLDays))
		}
	}
}

// Environment variable names read by ConfigFromEnv.
const (
	EnvEnv                    = "STEPCQRS_ENV"
	EnvAppName                = "STEPCQRS_APP_NAME"
	EnvTablePrefix            = "STEPCQRS_TABLE_PREFIX"
	EnvRegion                 = "STEPCQRS_REGION"
	EnvEndpoint               = "STEPCQRS_ENDPOINT_URL"
	EnvBucket                 = "STEPCQRS_BUCKET"
	EnvNotificationTopic      = "STEPCQRS_NOTIFICATION_TOPIC"
	EnvAlarmTopic             = "STEPCQRS_ALARM_TOPIC"
	EnvTaskQueue              = "STEPCQRS_TASK_QUEUE"
	EnvTaskDLQ                = "STEPCQRS_TASK_DLQ"
	EnvNotificationQueue      = "STEPCQRS_NOTIFICATION_QUEUE"
	EnvImportQueue            = "STEPCQRS_IMPORT_QUEUE"
	EnvCommandStateMachineARN = "STEPCQRS_COMMAND_STATE_MACHINE_ARN"
	EnvTaskStateMachineARN    = "STEPCQRS_TASK_STATE_MACHINE_ARN"
	EnvImportStateMachineARN  = "STEPCQRS_IMPORT_STATE_MACHINE_ARN"
	EnvAttributeOffloadBytes  = "STEPCQRS_ATTRIBUTE_OFFLOAD_BYTES"
	EnvCommandTTLDays         = "STEPCQRS_COMMAND_TTL_DAYS"
	EnvDataTTLDays            = "STEPCQRS_DATA_TTL_DAYS"
	EnvHistoryTTLDays         = "STEPCQRS_HISTORY_TTL_DAYS"
	EnvTenantTTLDays          = "STEPCQRS_TENANT_TTL_DAYS"
	EnvTenantClaim            = "STEPCQRS_TENANT_CLAIM"
	EnvTenantHeader           = "STEPCQRS_TENANT_HEADER"
	EnvTenantHeaderMode       = "STEPCQRS_TENANT_HEADER_MODE"
	EnvRequireInvoke          = "STEPCQRS_REQUIRE_INVOKE"
)

// ConfigFromEnv builds a Config from environment variables read with getenv
// (os.Getenv in production, a map lookup in tests) and validates it. An
// unset or empty variable leaves its field empty, which means the default.
// The error is one *ValidationError listing every unparsable variable and
// every problem Validate finds; the Config is returned with it, for
// diagnostics.
//
//	variable                            field                   default
//	STEPCQRS_ENV                        Env                     required (NODE_ENV in the reference)
//	STEPCQRS_APP_NAME                   AppName                 required (APP_NAME in the reference)
//	STEPCQRS_TABLE_PREFIX               TablePrefix             "{env}-{app}-"
//	STEPCQRS_REGION                     Region                  AWS_REGION, else AWS_DEFAULT_REGION, else ""
//	STEPCQRS_ENDPOINT_URL               Endpoint                "" (the AWS SDK reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself)
//	STEPCQRS_BUCKET                     BucketName              "{prefix}objects", lower-cased
//	STEPCQRS_NOTIFICATION_TOPIC         NotificationTopicName   "{prefix}notification"
//	STEPCQRS_ALARM_TOPIC                AlarmTopicName          "{prefix}alarm"
//	STEPCQRS_TASK_QUEUE                 TaskQueueName           "{prefix}task-queue"
//	STEPCQRS_TASK_DLQ                   TaskDLQName             "{prefix}task-dlq"
//	STEPCQRS_NOTIFICATION_QUEUE         NotificationQueueName   "{prefix}notification-queue"
//	STEPCQRS_IMPORT_QUEUE               ImportQueueName         "{prefix}import-queue"
//	STEPCQRS_COMMAND_STATE_MACHINE_ARN  CommandStateMachineARN  "" (not deployed)
//	STEPCQRS_TASK_STATE_MACHINE_ARN     TaskStateMachineARN     "" (not deployed)
//	STEPCQRS_IMPORT_STATE_MACHINE_ARN   ImportStateMachineARN   "" (not deployed)
//	STEPCQRS_ATTRIBUTE_OFFLOAD_BYTES    AttributeOffloadBytes   262144 (DefaultAttributeOffloadBytes)
//	STEPCQRS_COMMAND_TTL_DAYS           TTL.Command             0 (never expires)
//	STEPCQRS_DATA_TTL_DAYS              TTL.Data                0
//	STEPCQRS_HISTORY_TTL_DAYS           TTL.History             0
//	STEPCQRS_TENANT_TTL_DAYS            TenantTTL               none; see below
//	STEPCQRS_TENANT_CLAIM               TenantClaim             "custom:tenant"
//	STEPCQRS_TENANT_HEADER              TenantHeader            "x-tenant-code"
//	STEPCQRS_TENANT_HEADER_MODE         TenantHeaderMode        "ignore" ("within-claim", "fallback")
//	STEPCQRS_REQUIRE_INVOKE             RequireInvoke           false ("true", "false", "1", "0")
//
// STEPCQRS_TENANT_TTL_DAYS lists per-tenant overrides separated by ';',
// each "tenant:kind=days[,kind=days…]" with kind one of command, data,
// history, e.g. "acme:history=90;globex:command=7,data=365". Kinds a tenant
// does not name keep the global value.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var p problems
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	num := func(name string, def int) int {
		s := get(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			p.add(fmt.Sprintf("%s=%q is not an integer", name, s))
			return def
		}
		return n
	}
	c := Config{
		Env:                    get(EnvEnv),
		AppName:                get(EnvAppName),
		TablePrefix:            get(EnvTablePrefix),
		Region:                 get(EnvRegion, "AWS_REGION", "AWS_DEFAULT_REGION"),
		Endpoint:               get(EnvEndpoint),
		BucketName:             get(EnvBucket),
		NotificationTopicName:  get(EnvNotificationTopic),
		AlarmTopicName:         get(EnvAlarmTopic),
		TaskQueueName:          get(EnvTaskQueue),
		TaskDLQName:            get(EnvTaskDLQ),
		NotificationQueueName:  get(EnvNotificationQueue),
		ImportQueueName:        get(EnvImportQueue),
		CommandStateMachineARN: get(EnvCommandStateMachineARN),
		TaskStateMachineARN:    get(EnvTaskStateMachineARN),
		ImportStateMachineARN:  get(EnvImportStateMachineARN),
		AttributeOffloadBytes:  num(EnvAttributeOffloadBytes, 0),
		TTL: TTLDays{
			Command: num(EnvCommandTTLDays, 0),
			Data:    num(EnvDataTTLDays, 0),
			History: num(EnvHistoryTTLDays, 0),
		},
		TenantClaim:      get(EnvTenantClaim),
		TenantHeader:     get(EnvTenantHeader),
		TenantHeaderMode: TenantHeaderMode(get(EnvTenantHeaderMode)),
	}
	if v := get(EnvRequireInvoke); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.add(fmt.Sprintf("%s=%q is not a boolean", EnvRequireInvoke, v))
		}
		c.RequireInvoke = b
	}
	if s := get(EnvTenantTTLDays); s != "" {
		c.TenantTTL = parseTenantTTL(&p, s, c.TTL)
	}
	c.validate(&p)
	return c, p.err()
}

// parseTenantTTL parses the STEPCQRS_TENANT_TTL_DAYS syntax.
func parseTenantTTL(p *problems, s string, base TTLDays) map[string]TTLDays {
	out := map[string]TTLDays{}
	bad := func(entry, why string) {
		p.add(fmt.Sprintf("%s entry %q: %s (want tenant:kind=days[,kind=days])", EnvTenantTTLDays, entry, why))
	}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		tenant, settings, found := strings.Cut(entry, ":")
		tenant = strings.ToLower(strings.TrimSpace(tenant))
		if !found || tenant == "" {
			bad(entry, "no tenant")
			continue
		}
		if _, dup := out[tenant]; dup {
			bad(entry, "tenant given twice")
			continue
		}
		d := base
		ok := true
		for _, kv := range strings.Split(settings, ",") {
			k, v, found := strings.Cut(strings.TrimSpace(kv), "=")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if !found || err != nil {
				bad(entry, fmt.Sprintf("%q is not kind=days", kv))
				ok = false
				continue
			}
			switch TableKind(strings.TrimSpace(k)) {
			case CommandTableKind:
				d.Command = n
			case DataTableKind:
				d.Data = n
			case HistoryTableKind:
				d.History = n
			default:
				bad(entry, fmt.Sprintf("unknown kind %q", k))
				ok = false
			}
		}
		if ok {
			out[tenant] = d
		}
	}
	return out
}
