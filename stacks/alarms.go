package stacks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Custom metrics that the dispatcher writes in CloudWatch embedded metric
// format; the names match the constants of package dispatch, which this
// package does not import because the Lambdas must not link CDK.
const (
	MetricNamespace = "mqcron"
	// MetricFireDelay is the time from a fire instant to the publish, in
	// milliseconds.
	MetricFireDelay = "FireDelay"
	// MetricPublished counts delivered fires.
	MetricPublished = "Delivered"
)

// monitoredParts are the stack parts that alarms and the dashboard read.
type monitoredParts struct {
	settings *Settings
	funcs    *Functions
	api      *API
}

// Monitoring is the alarms, their optional SNS topic and the dashboard.
type Monitoring struct {
	Topic     awssns.ITopic
	Alarms    map[string]awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

const period = 5 // minutes

func newMonitoring(scope constructs.Construct, p *monitoredParts) *Monitoring {
	m := &Monitoring{Alarms: map[string]awscloudwatch.Alarm{}}
	if p.settings.Alarms.Enabled {
		m.Topic = alarmTopic(scope, p.settings)
		m.addAlarms(scope, p)
	}
	m.Dashboard = newDashboard(scope, p)
	return m
}

// alarmTopic returns the topic named by alarms.topicArn, a new encrypted
// topic with an email subscription for alarms.email, or nil.
func alarmTopic(scope constructs.Construct, s *Settings) awssns.ITopic {
	if s.Alarms.TopicArn != "" {
		return awssns.Topic_FromTopicArn(scope, jsii.String("AlarmTopic"), jsii.String(s.Alarms.TopicArn))
	}
	if s.Alarms.Email == "" {
		return nil
	}
	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("mqcron " + s.Env + " alarms"),
		EnforceSSL:  jsii.Bool(true),
		MasterKey:   awskms.Alias_FromAliasName(scope, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
	})
	topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.Alarms.Email), nil))
	return topic
}

// alarmSpec is one alarm: its metric and when it fires.
type alarmSpec struct {
	id          string
	description string
	metric      awscloudwatch.IMetric
	threshold   float64
	periods     int
	// below alarms when the metric drops under the threshold, and treats
	// missing data as breaching: for counts that must keep arriving.
	below bool
}

func (m *Monitoring) addAlarms(scope constructs.Construct, p *monitoredParts) {
	s := p.settings
	specs := []alarmSpec{
		{"DispatcherErrors", "The dispatcher returned errors; wake-ups are redelivered and may be dead-lettered.",
			p.funcs.Dispatcher.MetricErrors(sum()), 1, 1, false},
		{"DeadLetteredFires", "Wake-ups reached the dead-letter queue " + s.DeadLetterQueue() + "; their fires were not published.",
			queueMetric(s, s.DeadLetterQueue()), 1, 1, false},
		{"DeadLetteredRuns", "The dispatcher gave up on fires (permanent publish errors or retries used up); GET /schedules/{id}/runs shows the reasons.",
			dispatcherCount("DeadLettered"), 1, 1, false},
		{"CanaryOverdue", "The canary schedule (rate 1 minute) delivered nothing for 3 minutes: the broker's job scheduler, the event source mapping or the dispatcher has stopped.",
			canaryMetric(), 1, 3, true},
		{"FireDelay", "p99 delay from fire instant to publish is above alarms.maxFireDelayMs.",
			fireDelayMetric("p99"), float64(s.Alarms.MaxFireDelayMs), 3, false},
		{"DispatchBacklog", "The dispatch queue keeps growing: the event source mapping is failing or the dispatcher cannot keep up.",
			queueMetric(s, s.DispatchQueue), float64(s.Alarms.MaxDispatchBacklog), 3, false},
		{"Api5xxRate", "More than 5% of API requests end in a 5xx response.",
			p.api.RestAPI.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: minutes(period)}), 0.05, 3, false},
		{"BrokerCpu", "Broker CPU above 80%.", brokerMetric(s, "CpuUtilization", "Average"), 80, 3, false},
		{"BrokerHeap", "Broker JVM heap above 80%.", brokerMetric(s, "HeapUsage", "Average"), 80, 3, false},
		{"JobSchedulerStore", "Job scheduler store above 80% of its limit; at 100% scheduling requests block.",
			brokerMetric(s, "JobSchedulerStorePercentUsage", "Maximum"), 80, 1, false},
	}
	for _, spec := range specs {
		comparison, missing := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING
		if spec.below {
			comparison, missing = awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, awscloudwatch.TreatMissingData_BREACHING
		}
		alarm := awscloudwatch.NewAlarm(scope, jsii.String(spec.id+"Alarm"), &awscloudwatch.AlarmProps{
			Metric:             spec.metric,
			Threshold:          jsii.Number(spec.threshold),
			EvaluationPeriods:  jsii.Number(spec.periods),
			ComparisonOperator: comparison,
			TreatMissingData:   missing,
			AlarmDescription:   jsii.String(spec.description),
		})
		if m.Topic != nil {
			alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(m.Topic))
		}
		m.Alarms[spec.id] = alarm
	}
}

func minutes(n float64) awscdk.Duration {
	return awscdk.Duration_Minutes(jsii.Number(n))
}

func sum() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minutes(period)}
}

func fireDelayMetric(statistic string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(MetricNamespace),
		MetricName: jsii.String(MetricFireDelay),
		Statistic:  jsii.String(statistic),
		Unit:       awscloudwatch.Unit_MILLISECONDS,
		Period:     minutes(period),
	})
}

// dispatcherCount returns the per-period sum of a count that the
// dispatcher writes.
func dispatcherCount(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(MetricNamespace),
		MetricName: jsii.String(name),
		Statistic:  jsii.String("Sum"),
		Period:     minutes(period),
	})
}

// canaryMetric returns the per-minute count of delivered canary fires.
func canaryMetric() awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(MetricNamespace),
		MetricName: jsii.String("CanaryDelivered"),
		Statistic:  jsii.String("Sum"),
		Period:     minutes(1),
	})
}

// brokerInstances returns the names Amazon MQ uses in the Broker metric
// dimension: the broker name with -1, and -2 for the standby.
func brokerInstances(s *Settings) []string {
	if s.Broker.DeploymentMode == DeploymentActiveStandby {
		return []string{s.Broker.Name + "-1", s.Broker.Name + "-2"}
	}
	return []string{s.Broker.Name + "-1"}
}

// brokerMetric returns an AWS/AmazonMQ metric of the broker. For an
// active/standby pair it is the maximum over both instances, so that the
// alarm follows whichever instance is active.
func brokerMetric(s *Settings, name, statistic string) awscloudwatch.IMetric {
	return maxOverInstances(s, name, statistic, nil)
}

// queueMetric returns the QueueSize of queue on the broker.
func queueMetric(s *Settings, queue string) awscloudwatch.IMetric {
	return maxOverInstances(s, "QueueSize", "Maximum", map[string]*string{"Queue": jsii.String(queue)})
}

var metricIDPattern = regexp.MustCompile(`[^a-z0-9_]+`)

func dimensionsOrEmpty(dimensions map[string]*string) *string {
	queue, ok := dimensions["Queue"]
	if !ok {
		return jsii.String("")
	}
	return queue
}

func maxOverInstances(s *Settings, name, statistic string, dimensions map[string]*string) awscloudwatch.IMetric {
	metrics := map[string]awscloudwatch.IMetric{}
	var ids []string
	// Ids are unique per metric and queue, because one graph may hold
	// several of these expressions.
	prefix := metricIDPattern.ReplaceAllString(strings.ToLower(name+"_"+*dimensionsOrEmpty(dimensions)), "_")
	for i, instance := range brokerInstances(s) {
		dims := map[string]*string{"Broker": jsii.String(instance)}
		for k, v := range dimensions {
			dims[k] = v
		}
		id := fmt.Sprintf("%s_%d", prefix, i+1)
		ids = append(ids, id)
		metrics[id] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/AmazonMQ"),
			MetricName:    jsii.String(name),
			DimensionsMap: &dims,
			Statistic:     jsii.String(statistic),
			Period:        minutes(period),
		})
	}
	if len(ids) == 1 {
		return metrics[ids[0]]
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("MAX([" + strings.Join(ids, ", ") + "])"),
		UsingMetrics: &metrics,
		Label:        jsii.String(name),
		Period:       minutes(period),
	})
}

// newDashboard shows the API, both functions, the queues, the broker and
// the fire-to-publish delay.
func newDashboard(scope constructs.Construct, p *monitoredParts) awscloudwatch.Dashboard {
	s := p.settings
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title),
			Left:  &metrics,
			Width: jsii.Number(8),
		})
	}
	api := p.api.RestAPI
	dashboard := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.StackName),
	})
	dashboard.AddWidgets(
		graph("API requests and errors", api.MetricCount(sum()), api.MetricClientError(sum()), api.MetricServerError(sum())),
		graph("API latency p99 (ms)", api.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99")})),
		graph("Fire to publish delay (ms)", fireDelayMetric("p50"), fireDelayMetric("p99")),
	)
	dashboard.AddWidgets(
		graph("Scheduler", p.funcs.Scheduler.MetricInvocations(sum()), p.funcs.Scheduler.MetricErrors(sum()), p.funcs.Scheduler.MetricThrottles(sum())),
		graph("Dispatcher", p.funcs.Dispatcher.MetricInvocations(sum()), p.funcs.Dispatcher.MetricErrors(sum()), publishedMetric()),
		graph("Dispatcher duration p99 (ms)", p.funcs.Dispatcher.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99")})),
	)
	dashboard.AddWidgets(
		graph("Queues", queueMetric(s, s.DispatchQueue), queueMetric(s, s.DeadLetterQueue())),
		graph("Broker CPU and heap (%)", brokerMetric(s, "CpuUtilization", "Average"), brokerMetric(s, "HeapUsage", "Average")),
		graph("Broker stores (%)", brokerMetric(s, "JobSchedulerStorePercentUsage", "Maximum"), brokerMetric(s, "StorePercentUsage", "Maximum")),
	)
	return dashboard
}

func publishedMetric() awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(MetricNamespace),
		MetricName: jsii.String(MetricPublished),
		Statistic:  jsii.String("Sum"),
		Period:     minutes(period),
	})
}
