package schedule

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of job.
const (
	// JobRecurring wakes the dispatcher at the schedule's broker form; the
	// fire instant is the wake-up's timestamp.
	JobRecurring = "schedule"
	// JobSingle carries one fire instant in its body: a retry or a
	// trigger-now request.
	JobSingle = "fire"
)

// Job is a scheduled message for the broker. Exactly one of Cron or the
// Delay/Period/Repeat group is set; ActiveMQ 5.17 stalls its job scheduler
// when a message combines them.
type Job struct {
	Body   JobBody
	Cron   string
	Delay  time.Duration
	Period time.Duration
	Repeat int
	// TTL is sent as the message's time to live, so that each fired copy
	// carries its own fire instant as its timestamp.
	TTL time.Duration
}

// JobBody is the JSON body of a job message.
type JobBody struct {
	Kind       string `json:"kind"`
	ScheduleID string `json:"scheduleId"`
	Version    int64  `json:"version"`
	// Stamp is the UpdatedAt of the version in Unix milliseconds. With the
	// version it identifies the version's content, because a version
	// number is written again when a failed update is rolled back.
	Stamp int64 `json:"stamp,omitempty"`
	// FireAt and Attempt are set on JobSingle messages only.
	FireAt  *time.Time `json:"fireAt,omitempty"`
	Attempt int        `json:"attempt,omitempty"`
	// Trigger marks a fire requested through the API, outside the
	// schedule's expression.
	Trigger bool `json:"trigger,omitempty"`
	// Deferred marks a wake-up that the dispatcher could not check, because
	// the store was unavailable, and sent back to the broker. FireAt is the
	// original wake-up instant, which is matched against the expression
	// when the message returns.
	Deferred bool `json:"deferred,omitempty"`
	// Topics lists the indexes of the target topics that a retry still
	// has to publish to; empty means all of them.
	Topics []int `json:"topics,omitempty"`
}

// Validate checks that j is a message the broker can store without
// harm, and returns an error naming the first problem.
func (j *Job) Validate() error {
	hasCron := j.Cron != ""
	hasPeriodic := j.Delay != 0 || j.Period != 0 || j.Repeat != 0
	switch {
	case hasCron && hasPeriodic:
		return fmt.Errorf("job for %s: cron %q combined with delay, period or repeat", j.Body.ScheduleID, j.Cron)
	case j.Delay < 0 || j.Period < 0 || j.Repeat < 0:
		return fmt.Errorf("job for %s: negative delay, period or repeat", j.Body.ScheduleID)
	case j.Repeat > 0 && j.Period <= 0:
		return fmt.Errorf("job for %s: repeat %d without a period", j.Body.ScheduleID, j.Repeat)
	case j.Body.ScheduleID == "":
		return fmt.Errorf("job: missing schedule id")
	}
	return nil
}

// EncodeBody returns the JSON body of j.
func (j *Job) EncodeBody() []byte {
	b, err := json.Marshal(j.Body)
	if err != nil {
		panic(err) // JobBody holds only strings, numbers and times.
	}
	return b
}

// Matches reports whether b was sent for the stored version of sched.
func (b *JobBody) Matches(sched *Schedule) bool {
	return b.Version == sched.Version && (b.Stamp == 0 || b.Stamp == sched.UpdatedAt.UnixMilli())
}

// DecodeJobBody parses a job body received from the broker.
func DecodeJobBody(data []byte) (*JobBody, error) {
	var b JobBody
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode job body: %w", err)
	}
	if b.ScheduleID == "" || b.Version < 1 {
		return nil, fmt.Errorf("decode job body: missing scheduleId or version")
	}
	if b.Kind != JobRecurring && b.Kind != JobSingle {
		return nil, fmt.Errorf("decode job body: unknown kind %q", b.Kind)
	}
	if b.Kind == JobSingle && b.FireAt == nil {
		return nil, fmt.Errorf("decode job body: fire job without fireAt")
	}
	return &b, nil
}
