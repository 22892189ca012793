package schedule

import (
	"context"
	"time"
)

// ListFilter selects schedules of one owner for Store.List.
type ListFilter struct {
	NamePrefix  string
	TopicPrefix string
	State       State
	Limit       int
	// Cursor is the opaque token returned by the previous page, or empty.
	Cursor string
}

// Store keeps schedules and runs. DynamoDB is the production
// implementation.
type Store interface {
	// CreateSchedule stores s with version 1. It returns ErrConflict when
	// the owner already has a schedule with the same name.
	CreateSchedule(ctx context.Context, s *Schedule) error
	// GetSchedule returns the schedule id of owner, or ErrNotFound.
	GetSchedule(ctx context.Context, owner, id string) (*Schedule, error)
	// GetSchedules returns the schedules with the given ids, whatever
	// their owner, in one batched read. Missing ids are absent from the map.
	GetSchedules(ctx context.Context, ids []string) (map[string]*Schedule, error)
	// ListSchedules returns one page of owner's schedules and the cursor of
	// the next page (empty on the last page).
	ListSchedules(ctx context.Context, owner string, f ListFilter) ([]*Schedule, string, error)
	// ReplaceSchedule stores s if the stored version is still
	// expectedVersion, and returns ErrVersionMismatch otherwise or
	// ErrNotFound when the schedule is gone.
	ReplaceSchedule(ctx context.Context, s *Schedule, expectedVersion int64) error
	// DeleteSchedule removes the schedule if its stored version is still
	// expectedVersion (0 means any version).
	DeleteSchedule(ctx context.Context, owner, id string, expectedVersion int64) error

	// ClaimFire records that the dispatcher starts run r. It returns false
	// when a run with the same fire id was already claimed and its lease has
	// not expired, or when it was finished.
	ClaimFire(ctx context.Context, r *Run, lease time.Duration) (bool, error)
	// FinishRun stores the outcome of a claimed run and adds it to the
	// schedule's run summary.
	FinishRun(ctx context.Context, r *Run) error
	// ListRuns returns the latest runs of a schedule, newest first.
	ListRuns(ctx context.Context, id string, limit int) ([]*Run, error)
}

// Broker stores and removes broker jobs.
type Broker interface {
	// ScheduleJob sends one scheduled message and returns once the broker
	// confirmed it with a receipt.
	ScheduleJob(ctx context.Context, j *Job) error
	// RemoveJob removes the broker job with the given scheduledJobId.
	RemoveJob(ctx context.Context, jobID string) error
}

// Message is one MQTT publish.
type Message struct {
	Topic          string
	QoS            int
	Retain         bool
	Payload        []byte
	ContentType    string
	UserProperties map[string]string
}

// Publisher delivers messages to device topics: IoT Core in AWS, an MQTT
// broker in local mode.
type Publisher interface {
	// Publish sends m. Errors that a later attempt may fix (throttling,
	// timeouts, 5xx) wrap ErrRetryable.
	Publish(ctx context.Context, m *Message) error
}
