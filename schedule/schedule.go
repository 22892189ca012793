// Package schedule holds mqcron's domain: schedules, the broker jobs that
// wake them, the runs that the dispatcher records, and the small interfaces
// (Store, Broker, Publisher) that the DynamoDB, ActiveMQ and IoT adapters
// implement.
package schedule

import (
	"encoding/json"
	"time"
)

// State is the lifecycle state of a schedule.
type State string

// Schedule states. A COMPLETED schedule has no fires left (a one-time
// schedule that ran, or one whose end date passed).
const (
	StateEnabled   State = "ENABLED"
	StateDisabled  State = "DISABLED"
	StateCompleted State = "COMPLETED"
)

// SystemOwner owns the schedules that mqcron keeps for itself, such as the
// liveness canary.
const SystemOwner = "mqcron-system"

// Target is the destination and content of every fire: topics, QoS and
// payload.
type Target struct {
	// Topics are the IoT topics that receive each fire (fan-out).
	Topics []string `json:"topics"`
	// QoS is the MQTT quality of service, 0 or 1.
	QoS int `json:"qos"`
	// Retain sets the MQTT retain flag, so the broker keeps the message for
	// new subscribers.
	Retain bool `json:"retain,omitempty"`
	// Payload is any JSON value, published as its JSON text.
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadBase64 is a binary payload, published as its decoded bytes.
	PayloadBase64 string `json:"payloadBase64,omitempty"`
	// ContentType describes PayloadBase64 (MQTT 5 content type).
	ContentType string `json:"contentType,omitempty"`
	// UserProperties are MQTT 5 user properties sent with each message.
	UserProperties map[string]string `json:"userProperties,omitempty"`
}

// RetryPolicy bounds how long and how often the dispatcher tries to
// deliver one fire, with EventBridge Scheduler's field names. A zero field
// takes the dispatcher's default.
type RetryPolicy struct {
	// MaximumEventAgeInSeconds is how long after its instant a fire may
	// still be delivered, 60 to 86400.
	MaximumEventAgeInSeconds int `json:"maximumEventAgeInSeconds,omitempty"`
	// MaximumRetryAttempts is how often a failed publish is retried, 0 to
	// 185. A nil value takes the default; 0 means no retry.
	MaximumRetryAttempts *int `json:"maximumRetryAttempts,omitempty"`
}

// RunSummary is the outcome of a schedule's latest run.
type RunSummary struct {
	FireAt  time.Time `json:"fireAt"`
	Outcome Outcome   `json:"outcome"`
}

// Schedule is a user's schedule: a target with its payload, an expression
// in a time zone, and a state. DynamoDB stores it, and every change to it
// increments Version.
type Schedule struct {
	ID                         string     `json:"id"`
	Owner                      string     `json:"owner"`
	Name                       string     `json:"name"`
	Description                string     `json:"description,omitempty"`
	Target                     Target     `json:"target"`
	ScheduleExpression         string     `json:"scheduleExpression"`
	ScheduleExpressionTimezone string     `json:"scheduleExpressionTimezone"`
	StartDate                  *time.Time `json:"startDate,omitempty"`
	EndDate                    *time.Time `json:"endDate,omitempty"`
	// RetryPolicy overrides the dispatcher's defaults for this schedule.
	RetryPolicy *RetryPolicy `json:"retryPolicy,omitempty"`
	State       State        `json:"state"`
	// StateNote is the reason given with the latest pause or resume.
	StateNote string    `json:"stateNote,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// Read-only fields, filled by the API and the dispatcher.
	NextFires []time.Time `json:"nextFires,omitempty"`
	LastRun   *RunSummary `json:"lastRun,omitempty"`
	RunCount  int64       `json:"runCount"`
}

// Outcome is the dispatcher's result for one fire.
type Outcome string

// Run outcomes.
const (
	OutcomeDelivered    Outcome = "DELIVERED"
	OutcomeExpired      Outcome = "EXPIRED"
	OutcomeDeadLettered Outcome = "DEAD_LETTERED"
	// OutcomeRetrying marks a run whose failed topics were sent back to
	// the broker for a later attempt.
	OutcomeRetrying Outcome = "RETRYING"
)

// Run is the record of one fire of a schedule, identified by FireID.
type Run struct {
	FireID     string    `json:"fireId"`
	ScheduleID string    `json:"scheduleId"`
	Version    int64     `json:"version"`
	FireAt     time.Time `json:"fireAt"`
	Attempt    int       `json:"attempt"`
	Topics     int       `json:"topicCount"`
	Outcome    Outcome   `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// FireID returns the identity of the fire of schedule id at instant at:
// the schedule id and the instant in Unix milliseconds.
func FireID(id string, at time.Time) string {
	return id + "@" + at.UTC().Format("20060102T150405.000Z")
}
