package activemq

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// Header names of ActiveMQ's job scheduler (org.apache.activemq.ScheduledMessage).
const (
	HeaderScheduledCron   = "AMQ_SCHEDULED_CRON"
	HeaderScheduledDelay  = "AMQ_SCHEDULED_DELAY"
	HeaderScheduledPeriod = "AMQ_SCHEDULED_PERIOD"
	HeaderScheduledRepeat = "AMQ_SCHEDULED_REPEAT"
	HeaderSchedulerAction = "AMQ_SCHEDULER_ACTION"
	// HeaderScheduledJobID is set by the broker on every wake-up and on
	// every BROWSE reply.
	HeaderScheduledJobID = "scheduledJobId"
)

// managementTopic is the destination of REMOVE, REMOVEALL and BROWSE
// requests.
const managementTopic = "/topic/ActiveMQ.Scheduler.Management"

// header is one STOMP header in the order it is sent.
type header struct{ key, value string }

// jobHeaders returns the headers of the scheduling SEND for j, sent at now.
// It rejects a job that Validate rejects and any value that could break a
// STOMP header.
func jobHeaders(j *schedule.Job, now time.Time) ([]header, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	if j.TTL < 0 {
		return nil, fmt.Errorf("job for %s: negative ttl", j.Body.ScheduleID)
	}
	if j.Cron != "" {
		if err := checkCron(j.Cron); err != nil {
			return nil, fmt.Errorf("job for %s: %w", j.Body.ScheduleID, err)
		}
	}

	hs := []header{{"persistent", "true"}}
	if j.Cron != "" {
		hs = append(hs, header{HeaderScheduledCron, j.Cron})
	}
	if ms := ceilMillis(j.Delay); ms > 0 {
		hs = append(hs, header{HeaderScheduledDelay, strconv.FormatInt(ms, 10)})
	}
	if ms := ceilMillis(j.Period); ms > 0 {
		hs = append(hs, header{HeaderScheduledPeriod, strconv.FormatInt(ms, 10)})
	}
	if j.Repeat > 0 {
		hs = append(hs, header{HeaderScheduledRepeat, strconv.Itoa(j.Repeat)})
	}
	// With an expiry, the broker stamps each wake-up with its fire instant
	// as timestamp. Without one, the timestamp stays the send time.
	if j.TTL > 0 {
		expires := now.Add(j.TTL).UnixMilli()
		hs = append(hs, header{"expires", strconv.FormatInt(expires, 10)})
	}

	if err := checkHeaders(hs); err != nil {
		return nil, fmt.Errorf("job for %s: %w", j.Body.ScheduleID, err)
	}
	return hs, nil
}

// removeHeaders returns the headers of a REMOVE request for jobID.
func removeHeaders(jobID string) ([]header, error) {
	if jobID == "" {
		return nil, fmt.Errorf("missing job id")
	}
	hs := []header{
		{HeaderSchedulerAction, "REMOVE"},
		{HeaderScheduledJobID, jobID},
	}
	return hs, checkHeaders(hs)
}

// checkHeaders rejects header values with CR, LF or NUL. go-stomp escapes
// CR, LF, ':' and '\' as STOMP 1.2 requires, so such a value cannot split
// a frame, but it is never legitimate in a scheduling header and the broker
// would store it as given.
func checkHeaders(hs []header) error {
	for _, h := range hs {
		if i := strings.IndexAny(h.value, "\r\n\x00"); i >= 0 {
			return fmt.Errorf("header %s: invalid character %q at byte %d", h.key, h.value[i], i)
		}
	}
	return nil
}

// checkCron rejects cron text that ActiveMQ 5.17's parser cannot take
// safely: the parser accepts only five numeric fields, closes the
// connection on text it cannot parse and divides by zero on a step of 0.
// Whether the fields mean what the caller wants is the caller's business.
func checkCron(expr string) error {
	fields := strings.Split(expr, " ")
	if len(fields) != 5 {
		return fmt.Errorf("invalid cron %q: want 5 fields separated by single spaces", expr)
	}
	for _, f := range fields {
		if f == "" || strings.Trim(f, "0123456789*,-/") != "" {
			return fmt.Errorf("invalid cron %q: field %q has characters other than 0-9 * , - /", expr, f)
		}
		for _, part := range strings.Split(f, ",") {
			if _, step, ok := strings.Cut(part, "/"); ok && strings.Trim(step, "0") == "" {
				return fmt.Errorf("invalid cron %q: step %q must be a positive number", expr, part)
			}
		}
	}
	return nil
}

// ceilMillis returns d in whole milliseconds, rounded up, because ActiveMQ
// takes delays and periods as integer milliseconds.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
