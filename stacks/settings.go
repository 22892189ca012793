package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Network modes for Settings.Network.
const (
	// NetworkEndpoints reaches AWS services through VPC endpoints only; the
	// VPC has no route to the internet.
	NetworkEndpoints = "endpoints"
	// NetworkNAT reaches AWS services through one NAT gateway per
	// Availability Zone.
	NetworkNAT = "nat"
)

// API authentication modes for Settings.Auth.
const (
	// AuthCognito authorizes API calls with a Cognito user pool token.
	AuthCognito = "cognito"
	// AuthIAM authorizes API calls with SigV4-signed IAM credentials.
	AuthIAM = "iam"
)

// Amazon MQ deployment modes for BrokerSettings.DeploymentMode.
const (
	DeploymentSingleInstance = "SINGLE_INSTANCE"
	DeploymentActiveStandby  = "ACTIVE_STANDBY_MULTI_AZ"
)

// Environments lists the values accepted for the "env" context key.
var Environments = []string{"dev", "prod"}

// Settings configures one deployment of the stack. LoadSettings reads it
// from the "mqcron" context key of cdk.json, where each environment has its
// own object on top of the defaults of DefaultSettings.
type Settings struct {
	// Env is the environment name, "dev" or "prod"; it is set from the
	// "env" context key, not from the settings object.
	Env string `json:"-"`
	// Account and Region pin the stack to one AWS environment. Both empty
	// gives an environment-agnostic template.
	Account string `json:"account"`
	Region  string `json:"region"`
	// StackName is the CloudFormation stack name.
	StackName string `json:"stackName"`
	// AssetDir is the folder that contains scheduler/bootstrap and
	// dispatcher/bootstrap, relative to the working directory of the CDK app.
	AssetDir string `json:"assetDir"`

	// Network is NetworkEndpoints or NetworkNAT.
	Network string `json:"network"`
	// MaxAZs is the number of Availability Zones of the VPC (2 or 3).
	MaxAZs int `json:"maxAzs"`

	Broker BrokerSettings `json:"broker"`

	// DispatchQueue is the ActiveMQ queue that receives wake-ups.
	DispatchQueue string `json:"dispatchQueue"`
	// TopicPrefixes are the IoT topic prefixes the dispatcher may publish
	// to; iot:Publish is granted on PREFIX* for each.
	TopicPrefixes []string `json:"topicPrefixes"`
	// IoTEndpoint overrides the iot:Data-ATS endpoint host. Empty looks it
	// up at deploy time with IoT DescribeEndpoint.
	IoTEndpoint string `json:"iotEndpoint"`
	// PublishConcurrency bounds the dispatcher's concurrent publishes.
	PublishConcurrency int `json:"publishConcurrency"`
	// BatchSize is the event source mapping's maximum batch size.
	BatchSize int `json:"batchSize"`
	// DispatcherMemoryMB and SchedulerMemoryMB size the functions.
	DispatcherMemoryMB int `json:"dispatcherMemoryMb"`
	SchedulerMemoryMB  int `json:"schedulerMemoryMb"`

	API APISettings `json:"api"`

	// RetainData keeps the table, secret and log groups when the stack is
	// deleted.
	RetainData bool `json:"retainData"`
	// DeletionProtection turns on DynamoDB deletion protection.
	DeletionProtection bool `json:"deletionProtection"`
	// LogRetentionDays is the retention of every log group the stack
	// creates; it must be a value CloudWatch Logs accepts.
	LogRetentionDays int `json:"logRetentionDays"`

	Alarms AlarmSettings `json:"alarms"`
}

// BrokerSettings configures the Amazon MQ for ActiveMQ broker.
type BrokerSettings struct {
	Name           string `json:"name"`
	InstanceType   string `json:"instanceType"`
	EngineVersion  string `json:"engineVersion"`
	DeploymentMode string `json:"deploymentMode"`
	// Username is the broker user that both functions and the event source
	// mapping use; the password is generated in Secrets Manager.
	Username string `json:"username"`
	// MaxSchedulerRepeat is the broker's maxSchedulerRepeatAllowed.
	MaxSchedulerRepeat int64 `json:"maxSchedulerRepeat"`
	// MaintenanceDay, MaintenanceTime (HH:MM) and MaintenanceTimeZone set
	// the weekly maintenance window, when configuration revisions apply.
	MaintenanceDay      string `json:"maintenanceDay"`
	MaintenanceTime     string `json:"maintenanceTime"`
	MaintenanceTimeZone string `json:"maintenanceTimeZone"`
	// DeadLetterPrefix is prepended to the dispatch queue name to form its
	// dead-letter queue.
	DeadLetterPrefix string `json:"deadLetterPrefix"`
	// AuditLogs turns on the broker's audit log in CloudWatch Logs.
	AuditLogs bool `json:"auditLogs"`
}

// APISettings configures the REST API in front of the scheduler.
type APISettings struct {
	// Auth is AuthCognito or AuthIAM.
	Auth string `json:"auth"`
	// UserPoolArn selects an existing Cognito user pool; empty creates one.
	UserPoolArn string `json:"userPoolArn"`
	// CORSOrigins are the browser origins allowed to call the API; empty
	// turns CORS off.
	CORSOrigins []string `json:"corsOrigins"`
	// ThrottleRate (requests per second) and ThrottleBurst apply to the
	// whole stage.
	ThrottleRate  float64 `json:"throttleRate"`
	ThrottleBurst int     `json:"throttleBurst"`
	// WAF puts a web ACL in front of the stage that rejects bodies larger
	// than MaxRequestBytes and applies the AWS common rule set.
	WAF bool `json:"waf"`
	// MaxRequestBytes bounds the request body when WAF is on (at most
	// 65536, the largest body size AWS WAF inspects for API Gateway).
	MaxRequestBytes int `json:"maxRequestBytes"`
}

// AlarmSettings configures CloudWatch alarms.
type AlarmSettings struct {
	Enabled bool `json:"enabled"`
	// Email subscribes an address to a new SNS topic that receives every
	// alarm. TopicArn uses an existing topic instead. Both empty sends
	// alarms nowhere.
	Email    string `json:"email"`
	TopicArn string `json:"topicArn"`
	// MaxFireDelayMs is the fire-to-publish delay (p99) that raises an alarm.
	MaxFireDelayMs int `json:"maxFireDelayMs"`
	// MaxDispatchBacklog is the dispatch queue depth that raises an alarm.
	MaxDispatchBacklog int `json:"maxDispatchBacklog"`
}

// DefaultSettings returns the settings of env before cdk.json is applied:
// small and disposable for "dev", redundant and retained for "prod".
func DefaultSettings(env string) Settings {
	s := Settings{
		Env:                env,
		StackName:          "mqcron-" + env,
		AssetDir:           "build/lambda",
		Network:            NetworkNAT,
		MaxAZs:             2,
		DispatchQueue:      "mqcron.dispatch",
		TopicPrefixes:      []string{"devices/"},
		PublishConcurrency: 32,
		BatchSize:          100,
		DispatcherMemoryMB: 256,
		SchedulerMemoryMB:  256,
		LogRetentionDays:   14,
		Broker: BrokerSettings{
			Name:                "mqcron-" + env,
			InstanceType:        "mq.t3.micro",
			EngineVersion:       "5.18",
			DeploymentMode:      DeploymentSingleInstance,
			Username:            "mqcron",
			MaxSchedulerRepeat:  1000000000,
			MaintenanceDay:      "SUNDAY",
			MaintenanceTime:     "03:00",
			MaintenanceTimeZone: "UTC",
			DeadLetterPrefix:    "DLQ.",
		},
		API: APISettings{
			Auth:            AuthCognito,
			ThrottleRate:    50,
			ThrottleBurst:   100,
			MaxRequestBytes: 65536,
		},
		Alarms: AlarmSettings{
			Enabled:            false,
			MaxFireDelayMs:     5000,
			MaxDispatchBacklog: 10000,
		},
	}
	if env == "prod" {
		s.Network = NetworkEndpoints
		s.Broker.InstanceType = "mq.m5.large"
		s.Broker.DeploymentMode = DeploymentActiveStandby
		s.Broker.AuditLogs = true
		s.API.WAF = true
		s.API.ThrottleRate = 200
		s.API.ThrottleBurst = 400
		s.RetainData = true
		s.DeletionProtection = true
		s.LogRetentionDays = 90
		s.DispatcherMemoryMB = 512
		s.Alarms.Enabled = true
	}
	return s
}

// LoadSettings returns the settings of env: DefaultSettings(env) with the
// object at context["mqcron"][env] applied on top. An unknown key, a value
// of the wrong type or a value that Validate rejects is an error that names
// the key.
func LoadSettings(env string, context any) (Settings, error) {
	if !slices.Contains(Environments, env) {
		return Settings{}, fmt.Errorf("settings: context key env: invalid value %q; allowed values: %s", env, strings.Join(Environments, ", "))
	}
	s := DefaultSettings(env)
	overrides, err := environmentObject(env, context)
	if err != nil {
		return Settings{}, err
	}
	if overrides != nil {
		dec := json.NewDecoder(bytes.NewReader(overrides))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return Settings{}, fmt.Errorf("settings: context key mqcron.%s: %w", env, err)
		}
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// environmentObject returns the JSON of context[env], or nil when the
// context has no object for env.
func environmentObject(env string, context any) ([]byte, error) {
	if context == nil {
		return nil, nil
	}
	byEnv, ok := context.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("settings: context key mqcron: invalid value of type %T; expected an object with one key per environment", context)
	}
	for key := range byEnv {
		if !slices.Contains(Environments, key) {
			return nil, fmt.Errorf("settings: context key mqcron.%s: unknown environment; allowed values: %s", key, strings.Join(Environments, ", "))
		}
	}
	obj, ok := byEnv[env]
	if !ok {
		return nil, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("settings: context key mqcron.%s: %w", env, err)
	}
	return data, nil
}

// Validate checks every setting and returns an error naming the first
// invalid key, its value and the values it accepts.
func (s *Settings) Validate() error {
	checks := []func() error{s.validateStack, s.validateBroker, s.validateDispatch, s.validateAPI, s.validateAlarms}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("settings: context key mqcron.%s.%w", s.Env, err)
		}
	}
	return nil
}

var (
	accountPattern     = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	brokerNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,50}$`)
	usernamePattern    = regexp.MustCompile(`^[A-Za-z0-9._~-]{2,100}$`)
	stackNamePattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	queuePattern       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)
	timeOfDayPattern   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	instanceTypePrefix = regexp.MustCompile(`^mq\.[a-z0-9]+\.[a-z0-9]+$`)
)

// logRetention maps the retention periods that CloudWatch Logs accepts, in
// days, to their CDK names.
var logRetention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

var weekDays = []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}

func (s *Settings) validateStack() error {
	switch {
	case s.Account != "" && !accountPattern.MatchString(s.Account):
		return fmt.Errorf("account: invalid value %q; expected 12 digits or empty", s.Account)
	case s.Region != "" && !regionPattern.MatchString(s.Region):
		return fmt.Errorf("region: invalid value %q; expected a region name such as eu-west-1, or empty", s.Region)
	case (s.Account == "") != (s.Region == ""):
		return fmt.Errorf("account: set account and region together, or neither")
	case !stackNamePattern.MatchString(s.StackName):
		return fmt.Errorf("stackName: invalid value %q; expected a letter, then up to 127 letters, digits or hyphens", s.StackName)
	case s.AssetDir == "":
		return fmt.Errorf("assetDir: missing value; expected the folder that contains scheduler/bootstrap and dispatcher/bootstrap")
	case s.Network != NetworkEndpoints && s.Network != NetworkNAT:
		return fmt.Errorf("network: invalid value %q; allowed values: %s, %s", s.Network, NetworkEndpoints, NetworkNAT)
	case s.MaxAZs < 2 || s.MaxAZs > 3:
		return fmt.Errorf("maxAzs: invalid value %d; allowed values: 2, 3", s.MaxAZs)
	case logRetention[s.LogRetentionDays] == "":
		return fmt.Errorf("logRetentionDays: invalid value %d; allowed values: %s", s.LogRetentionDays, joinInts(slices.Sorted(maps.Keys(logRetention))))
	}
	return nil
}

func (s *Settings) validateBroker() error {
	b := &s.Broker
	switch {
	case !brokerNamePattern.MatchString(b.Name):
		return fmt.Errorf("broker.name: invalid value %q; expected 1 to 50 letters, digits, hyphens or underscores", b.Name)
	case !instanceTypePrefix.MatchString(b.InstanceType):
		return fmt.Errorf("broker.instanceType: invalid value %q; expected an Amazon MQ instance type such as mq.t3.micro or mq.m5.large", b.InstanceType)
	case b.EngineVersion == "":
		return fmt.Errorf("broker.engineVersion: missing value; expected an ActiveMQ version that Amazon MQ offers, such as 5.18")
	case b.DeploymentMode != DeploymentSingleInstance && b.DeploymentMode != DeploymentActiveStandby:
		return fmt.Errorf("broker.deploymentMode: invalid value %q; allowed values: %s, %s", b.DeploymentMode, DeploymentSingleInstance, DeploymentActiveStandby)
	case b.DeploymentMode == DeploymentActiveStandby && b.InstanceType == "mq.t3.micro":
		return fmt.Errorf("broker.instanceType: invalid value %q for deploymentMode %s; Amazon MQ offers mq.t3.micro for %s only", b.InstanceType, b.DeploymentMode, DeploymentSingleInstance)
	case !usernamePattern.MatchString(b.Username):
		return fmt.Errorf("broker.username: invalid value %q; expected 2 to 100 letters, digits or - . _ ~", b.Username)
	case b.MaxSchedulerRepeat < 1:
		return fmt.Errorf("broker.maxSchedulerRepeat: invalid value %d; expected a positive number", b.MaxSchedulerRepeat)
	case !slices.Contains(weekDays, b.MaintenanceDay):
		return fmt.Errorf("broker.maintenanceDay: invalid value %q; allowed values: %s", b.MaintenanceDay, strings.Join(weekDays, ", "))
	case !timeOfDayPattern.MatchString(b.MaintenanceTime):
		return fmt.Errorf("broker.maintenanceTime: invalid value %q; expected HH:MM in 24-hour form", b.MaintenanceTime)
	case b.MaintenanceTimeZone == "":
		return fmt.Errorf("broker.maintenanceTimeZone: missing value; expected a time zone such as UTC")
	case !queuePattern.MatchString(b.DeadLetterPrefix):
		return fmt.Errorf("broker.deadLetterPrefix: invalid value %q; expected letters, digits or . _ -", b.DeadLetterPrefix)
	}
	return nil
}

func (s *Settings) validateDispatch() error {
	switch {
	case !queuePattern.MatchString(s.DispatchQueue):
		return fmt.Errorf("dispatchQueue: invalid value %q; expected 1 to 200 letters, digits or . _ -", s.DispatchQueue)
	case len(s.TopicPrefixes) == 0:
		return fmt.Errorf("topicPrefixes: missing value; expected at least one IoT topic prefix such as \"devices/\"")
	case s.PublishConcurrency < 1 || s.PublishConcurrency > 1000:
		return fmt.Errorf("publishConcurrency: invalid value %d; expected 1 to 1000", s.PublishConcurrency)
	case s.BatchSize < 1 || s.BatchSize > 10000:
		return fmt.Errorf("batchSize: invalid value %d; expected 1 to 10000", s.BatchSize)
	case s.DispatcherMemoryMB < 128 || s.DispatcherMemoryMB > 10240:
		return fmt.Errorf("dispatcherMemoryMb: invalid value %d; expected 128 to 10240", s.DispatcherMemoryMB)
	case s.SchedulerMemoryMB < 128 || s.SchedulerMemoryMB > 10240:
		return fmt.Errorf("schedulerMemoryMb: invalid value %d; expected 128 to 10240", s.SchedulerMemoryMB)
	case strings.ContainsAny(s.IoTEndpoint, "/: "):
		return fmt.Errorf("iotEndpoint: invalid value %q; expected a host name without scheme or port, or empty", s.IoTEndpoint)
	}
	for i, prefix := range s.TopicPrefixes {
		if err := validateTopicPrefix(prefix); err != nil {
			return fmt.Errorf("topicPrefixes[%d]: invalid value %q: %w", i, prefix, err)
		}
	}
	return nil
}

// validateTopicPrefix checks that prefix can start an IoT Core topic name
// that a client may publish to.
func validateTopicPrefix(prefix string) error {
	switch {
	case prefix == "":
		return fmt.Errorf("expected a non-empty prefix; an empty prefix would grant every topic")
	case strings.ContainsAny(prefix, "#+*?"):
		return fmt.Errorf("expected no wildcard characters # + * ?")
	case strings.HasPrefix(prefix, "$"):
		return fmt.Errorf("topics that start with $ are reserved by IoT Core")
	case len(prefix) > 256 || strings.Count(prefix, "/") > 7:
		return fmt.Errorf("expected at most 256 bytes and 7 slashes, the IoT Core topic limits")
	}
	return nil
}

func (s *Settings) validateAPI() error {
	a := &s.API
	switch {
	case a.Auth != AuthCognito && a.Auth != AuthIAM:
		return fmt.Errorf("api.auth: invalid value %q; allowed values: %s, %s", a.Auth, AuthCognito, AuthIAM)
	case a.UserPoolArn != "" && a.Auth != AuthCognito:
		return fmt.Errorf("api.userPoolArn: set only with api.auth %s", AuthCognito)
	case a.UserPoolArn != "" && !strings.HasPrefix(a.UserPoolArn, "arn:"):
		return fmt.Errorf("api.userPoolArn: invalid value %q; expected a Cognito user pool ARN", a.UserPoolArn)
	case a.ThrottleRate <= 0:
		return fmt.Errorf("api.throttleRate: invalid value %g; expected requests per second above 0", a.ThrottleRate)
	case a.ThrottleBurst < 1:
		return fmt.Errorf("api.throttleBurst: invalid value %d; expected at least 1", a.ThrottleBurst)
	case a.MaxRequestBytes < 1024 || a.MaxRequestBytes > 65536:
		return fmt.Errorf("api.maxRequestBytes: invalid value %d; expected 1024 to 65536", a.MaxRequestBytes)
	}
	for i, origin := range a.CORSOrigins {
		if origin != "*" && !strings.HasPrefix(origin, "https://") && !strings.HasPrefix(origin, "http://localhost") {
			return fmt.Errorf("api.corsOrigins[%d]: invalid value %q; expected an https:// origin, http://localhost[:port] or *", i, origin)
		}
	}
	return nil
}

func (s *Settings) validateAlarms() error {
	a := &s.Alarms
	switch {
	case a.Email != "" && a.TopicArn != "":
		return fmt.Errorf("alarms.email: set alarms.email or alarms.topicArn, not both")
	case a.Email != "" && !strings.Contains(a.Email, "@"):
		return fmt.Errorf("alarms.email: invalid value %q; expected an email address", a.Email)
	case a.TopicArn != "" && !strings.HasPrefix(a.TopicArn, "arn:"):
		return fmt.Errorf("alarms.topicArn: invalid value %q; expected an SNS topic ARN", a.TopicArn)
	case a.MaxFireDelayMs < 1:
		return fmt.Errorf("alarms.maxFireDelayMs: invalid value %d; expected milliseconds above 0", a.MaxFireDelayMs)
	case a.MaxDispatchBacklog < 1:
		return fmt.Errorf("alarms.maxDispatchBacklog: invalid value %d; expected at least 1", a.MaxDispatchBacklog)
	}
	return nil
}

// DeadLetterQueue returns the name of the dispatch queue's dead-letter queue.
func (s *Settings) DeadLetterQueue() string {
	return s.Broker.DeadLetterPrefix + s.DispatchQueue
}

func joinInts(values []int) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}
