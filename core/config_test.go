package core

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// configEnv turns a map into a getenv function.
func configEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultConfigNames(t *testing.T) {
	c := Config{Env: "dev", AppName: "shop"}
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	tests := []struct{ got, want string }{
		{c.Prefix(), "dev-shop-"},
		{c.CommandTable("order"), "dev-shop-order-command"},
		{c.DataTable("order"), "dev-shop-order-data"},
		{c.HistoryTable("order"), "dev-shop-order-history"},
		{c.TasksTable(), "dev-shop-tasks"},
		{c.ImportTable(), "dev-shop-import"},
		{c.Bucket(), "dev-shop-objects"},
		{c.NotificationTopic(), "dev-shop-notification"},
		{c.AlarmTopic(), "dev-shop-alarm"},
		{c.TaskQueue(), "dev-shop-task-queue"},
		{c.TaskDLQ(), "dev-shop-task-dlq"},
		{c.NotificationQueue(), "dev-shop-notification-queue"},
		{c.ImportQueue(), "dev-shop-import-queue"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if c.OffloadThreshold() != DefaultAttributeOffloadBytes {
		t.Errorf("OffloadThreshold() = %d", c.OffloadThreshold())
	}
	// Names follow Env and AppName set later.
	c.Env = "prod"
	if c.TaskQueue() != "prod-shop-task-queue" || c.Bucket() != "prod-shop-objects" {
		t.Errorf("derived names did not follow Env: %q, %q", c.TaskQueue(), c.Bucket())
	}
	if d := DefaultConfig(); d.Validate() != nil || d.CommandTable("order") != "local-app-order-command" {
		t.Errorf("DefaultConfig() = %+v, Validate() = %v", d, d.Validate())
	}
}

func TestParseTable(t *testing.T) {
	c := Config{Env: "prod", AppName: "shop"}
	tests := []struct {
		name   string
		module string
		kind   TableKind
		ok     bool
	}{
		{"prod-shop-order-command", "order", CommandTableKind, true},
		{"prod-shop-sales-order-data", "sales-order", DataTableKind, true},
		{"prod-shop-order-history", "order", HistoryTableKind, true},
		{"arn:aws:dynamodb:ap-northeast-1:123456789012:table/prod-shop-order-command/stream/2026-11-21T05:00:00.000", "order", CommandTableKind, true},
		{"arn:aws:dynamodb:ap-northeast-1:123456789012:table/prod-shop-order-data", "order", DataTableKind, true},
		{"arn:aws:sqs:ap-northeast-1:123456789012:prod-shop-task-queue", "", "", false},
		{"prod-shop-tasks", "", "", false},
		{"prod-shop--command", "", "", false},
		{"dev-shop-order-command", "", "", false},
		{"prod-shop-order-sessions", "", "", false},
	}
	for _, tt := range tests {
		m, k, ok := c.ParseTable(tt.name)
		if m != tt.module || k != tt.kind || ok != tt.ok {
			t.Errorf("ParseTable(%q) = %q, %q, %v; want %q, %q, %v", tt.name, m, k, ok, tt.module, tt.kind, tt.ok)
		}
		if ok && !strings.Contains(tt.name, c.Table(m, k)) {
			t.Errorf("Table(%q, %q) = %q does not round-trip %q", m, k, c.Table(m, k), tt.name)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		EnvEnv:       "prod",
		EnvAppName:   "shop",
		"AWS_REGION": "ap-northeast-1",
		// The AWS SDK reads AWS_ENDPOINT_URL (and the per-service
		// variables) itself: copying it into Endpoint would make it a base
		// endpoint that AWS_ENDPOINT_URL_SFN and the like cannot override.
		"AWS_ENDPOINT_URL":        "http://127.0.0.1:5000",
		EnvEndpoint:               "http://127.0.0.1:4566",
		EnvBucket:                 "shop-prod-blobs",
		EnvTaskQueue:              "jobs.fifo",
		EnvCommandStateMachineARN: "arn:aws:states:ap-northeast-1:123456789012:stateMachine:prod-shop-command",
		EnvImportStateMachineARN:  "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:import",
		EnvAttributeOffloadBytes:  " 102400 ",
		EnvCommandTTLDays:         "7",
		EnvHistoryTTLDays:         "365",
		EnvTenantTTLDays:          "Acme:history=30, data=90 ; globex:command=1",
		EnvTenantClaim:            "custom:org",
		EnvTenantHeader:           "x-org",
		EnvTenantHeaderMode:       "within-claim",
	}
	got, err := ConfigFromEnv(configEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Env: "prod", AppName: "shop",
		Region: "ap-northeast-1", Endpoint: "http://127.0.0.1:4566",
		BucketName:             "shop-prod-blobs",
		TaskQueueName:          "jobs.fifo",
		CommandStateMachineARN: "arn:aws:states:ap-northeast-1:123456789012:stateMachine:prod-shop-command",
		ImportStateMachineARN:  "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:import",
		AttributeOffloadBytes:  102400,
		TTL:                    TTLDays{Command: 7, History: 365},
		TenantTTL: map[string]TTLDays{
			"acme":   {Command: 7, Data: 90, History: 30},
			"globex": {Command: 1, History: 365},
		},
		TenantClaim:      "custom:org",
		TenantHeader:     "x-org",
		TenantHeaderMode: TenantHeaderWithinClaim,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got.Bucket() != "shop-prod-blobs" || got.TaskQueue() != "jobs.fifo" || got.TaskDLQ() != "prod-shop-task-dlq" {
		t.Errorf("names: %q %q %q", got.Bucket(), got.TaskQueue(), got.TaskDLQ())
	}
	if r := got.InvokeResolver(); r.TenantClaim != "custom:org" || r.HeaderMode != TenantHeaderWithinClaim || r.TenantHeader != "x-org" {
		t.Errorf("InvokeResolver() = %+v", r)
	}
	// STEPCQRS_* wins over the AWS_* fallbacks.
	env[EnvRegion], env[EnvEndpoint] = "eu-west-1", "https://localhost.localstack.cloud:4566"
	got, err = ConfigFromEnv(configEnv(env))
	if err != nil || got.Region != "eu-west-1" || got.Endpoint != "https://localhost.localstack.cloud:4566" {
		t.Errorf("Region, Endpoint = %q, %q, %v", got.Region, got.Endpoint, err)
	}
}

func TestConfigFromEnvDefaults(t *testing.T) {
	got, err := ConfigFromEnv(configEnv(map[string]string{EnvEnv: "local", EnvAppName: "demo", "AWS_DEFAULT_REGION": "us-east-1"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Env: "local", AppName: "demo", Region: "us-east-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestConfigFromEnvTablePrefix(t *testing.T) {
	got, err := ConfigFromEnv(configEnv(map[string]string{EnvTablePrefix: "Shop-"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.CommandTable("order") != "Shop-order-command" || got.Bucket() != "shop-objects" || got.TaskQueue() != "Shop-task-queue" {
		t.Errorf("prefix not applied: %+v", got)
	}
	// A prefix valid for tables may derive invalid names for other
	// resources; Validate says which, so they can be set explicitly.
	_, err = ConfigFromEnv(configEnv(map[string]string{EnvTablePrefix: "shop_"}))
	if p := problemsOf(t, err); len(p) != 1 || !strings.Contains(p[0], `BucketName (derived) "shop_objects"`) {
		t.Errorf("problems = %q, want one about the bucket", p)
	}
}

// problemsOf returns the problems of a *ValidationError, failing the test
// when err is something else.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrValidation) {
		t.Fatalf("err = %#v, want *ValidationError", err)
	}
	return ve.Problems
}

func TestConfigFromEnvReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		EnvAppName:                "shop",
		EnvAttributeOffloadBytes:  "big",
		EnvDataTTLDays:            "-1",
		EnvTenantTTLDays:          "acme:weekly=3;:data=1;globex:data",
		EnvCommandStateMachineARN: "arn:aws:lambda:us-east-1:123456789012:function:x",
		EnvEndpoint:               "localhost:4566",
		EnvTenantHeaderMode:       "always",
	}
	_, err := ConfigFromEnv(configEnv(env))
	got := problemsOf(t, err)
	wantSubstrings := []string{
		`STEPCQRS_ATTRIBUTE_OFFLOAD_BYTES="big" is not an integer`,
		`STEPCQRS_TENANT_TTL_DAYS entry "acme:weekly=3": unknown kind "weekly"`,
		`STEPCQRS_TENANT_TTL_DAYS entry ":data=1": no tenant`,
		`STEPCQRS_TENANT_TTL_DAYS entry "globex:data": "data" is not kind=days`,
		"Env is empty",
		`Endpoint "localhost:4566" is not an http(s) URL`,
		`CommandStateMachineARN "arn:aws:lambda`,
		"TTL data TTL -1 days is outside 0..36500",
		`TenantHeaderMode "always"`,
	}
	if len(got) != len(wantSubstrings) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(wantSubstrings), strings.Join(got, "\n"))
	}
	for _, w := range wantSubstrings {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no problem mentions %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	base := Config{Env: "dev", AppName: "shop"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // one substring per expected problem
	}{
		{"valid", func(*Config) {}, nil},
		{"missing env and app", func(c *Config) { c.Env, c.AppName = "", "" },
			[]string{"Env is empty", "AppName is empty"}},
		{"bad prefix chars", func(c *Config) { c.TablePrefix = "dev shop/" }, []string{"table prefix"}},
		{"prefix too long", func(c *Config) {
			c.TablePrefix = strings.Repeat("p", 252)
			c.BucketName, c.NotificationTopicName, c.AlarmTopicName = "b-1", "n", "a"
			c.TaskQueueName, c.TaskDLQName, c.NotificationQueueName, c.ImportQueueName = "t", "d", "n", "i"
		}, []string{"tasks table name", "import table name"}},
		{"long prefix: every derived name reported", func(c *Config) { c.TablePrefix = strings.Repeat("p", 74) + "-" },
			[]string{"BucketName (derived)", "TaskQueueName (derived)", "TaskDLQName (derived)",
				"NotificationQueueName (derived)", "ImportQueueName (derived)"}},
		{"overrides without prefix", func(c *Config) { c.Env, c.AppName, c.TablePrefix, c.TaskQueueName = "", "", "", "jobs" },
			[]string{"Env is empty", "AppName is empty"}},
		{"bad override without prefix", func(c *Config) { c.Env, c.TaskQueueName = "", "jobs!" },
			[]string{"Env is empty", `TaskQueueName "jobs!"`}},
		{"bad resource names", func(c *Config) {
			c.BucketName = "Dev_Shop"
			c.NotificationTopicName = "a:b"
			c.TaskQueueName = strings.Repeat("q", 81)
			c.ImportQueueName = "imports.fifo.fifo"
		}, []string{`BucketName "Dev_Shop"`, `NotificationTopicName "a:b"`, "TaskQueueName", `ImportQueueName "imports.fifo.fifo"`}},
		{"fifo names", func(c *Config) { c.TaskQueueName, c.AlarmTopicName = "jobs.fifo", "alarms.fifo" }, nil},
		{"bucket with double dot", func(c *Config) { c.BucketName = "a..b" }, []string{`BucketName "a..b"`}},
		{"derived bucket invalid", func(c *Config) { c.AppName = "my_shop" }, []string{`BucketName (derived) "dev-my_shop-objects"`}},
		{"dlq is the queue", func(c *Config) { c.TaskDLQName = "dev-shop-task-queue" }, []string{"TaskDLQName"}},
		{"malformed ARNs", func(c *Config) {
			c.TaskStateMachineARN = "arn:aws:states:us-east-1:12345:stateMachine:t"
			c.ImportStateMachineARN = "import"
		}, []string{"TaskStateMachineARN", "ImportStateMachineARN"}},
		{"good ARNs", func(c *Config) {
			c.CommandStateMachineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:dev-shop-command"
			c.TaskStateMachineARN = "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:task_1"
		}, nil},
		{"region", func(c *Config) { c.Region = "Tokyo" }, []string{`Region "Tokyo"`}},
		{"endpoint", func(c *Config) { c.Endpoint = "ftp://x" }, []string{"Endpoint"}},
		{"offload default", func(c *Config) { c.AttributeOffloadBytes = 0 }, nil},
		{"offload negative", func(c *Config) { c.AttributeOffloadBytes = -1 }, []string{"AttributeOffloadBytes -1"}},
		{"offload above item limit", func(c *Config) { c.AttributeOffloadBytes = MaxItemBytes + 1 }, []string{"AttributeOffloadBytes"}},
		{"ttls", func(c *Config) {
			c.TTL = TTLDays{Command: -1, History: MaxTTLDays + 1}
			c.TenantTTL = map[string]TTLDays{"Acme": {}, "": {}, "a#b": {Data: -5}}
		}, []string{"TTL command TTL -1", "TTL history TTL 36501", `tenant "Acme": stepcqrs: invalid key tenantCode "Acme": not lower case`,
			"empty tenant code", `tenant "a#b"`, `TenantTTL["a#b"] data TTL -5`}},
		{"header mode", func(c *Config) { c.TenantHeaderMode = "x" }, []string{"TenantHeaderMode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			got := problemsOf(t, err)
			if len(got) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
		})
	}
}

func TestValidateModule(t *testing.T) {
	c := Config{Env: "dev", AppName: "shop"}
	tests := []struct {
		module string
		ok     bool
	}{
		{"order", true},
		{"sales_order.v2", true},
		{"", false},
		{"order#1", false},
		{"ordér", false},
		{strings.Repeat("m", 255), false},
	}
	for _, tt := range tests {
		err := c.ValidateModule(tt.module)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrValidation)) {
			t.Errorf("ValidateModule(%q) = %v, want ok=%v", tt.module, err, tt.ok)
		}
	}
}

func TestTTL(t *testing.T) {
	c := Config{Env: "dev", AppName: "shop"}
	c.TTL = TTLDays{Command: 1, Data: 0, History: 30}
	c.TenantTTL = map[string]TTLDays{"acme": {Command: 2}}
	now := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		tenant string
		kind   TableKind
		want   int64
	}{
		{"globex", CommandTableKind, now.Add(24 * time.Hour).Unix()},
		{"globex", DataTableKind, 0},
		{"globex", HistoryTableKind, now.Add(30 * 24 * time.Hour).Unix()},
		{"ACME", CommandTableKind, now.Add(48 * time.Hour).Unix()},
		{"acme", HistoryTableKind, 0},
		{"acme", TableKind("sessions"), 0},
	}
	for _, tt := range tests {
		if got := c.TTLFor(tt.tenant).Expiry(tt.kind, now); got != tt.want {
			t.Errorf("TTLFor(%q).Expiry(%q) = %d, want %d", tt.tenant, tt.kind, got, tt.want)
		}
	}
}

func FuzzTenantTTLEnv(f *testing.F) {
	for _, s := range []string{"acme:history=30", "a:command=1,data=2;b:history=3", ";;", ":", "a:data", "A:data=-1", "a:x=1;a:data=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ConfigFromEnv(configEnv(map[string]string{EnvEnv: "dev", EnvAppName: "shop", EnvTenantTTLDays: s}))
		if err != nil {
			problemsOf(t, err)
			return
		}
		for tenant, d := range c.TenantTTL {
			if tenant == "" || tenant != strings.ToLower(tenant) {
				t.Errorf("accepted tenant %q", tenant)
			}
			if d.Command < 0 || d.Data < 0 || d.History < 0 {
				t.Errorf("accepted negative TTL %+v", d)
			}
		}
	})
}
