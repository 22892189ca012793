package activemq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/mqcron/mqcron/schedule"
)

// headerBrowseEnd marks the message that Browse sends after its BROWSE
// request, to learn that all replies have arrived.
const headerBrowseEnd = "mqcron-browse-end"

// BrowsedJob is one job stored in the broker's job scheduler.
type BrowsedJob struct {
	// ID is the job's scheduledJobId, the argument of RemoveJob.
	ID string
	// Destination is the STOMP destination of the job's wake-ups, such as
	// "/queue/mqcron.dispatch".
	Destination string
	Cron        string
	Delay       time.Duration
	Period      time.Duration
	Repeat      int
	// Body is the message body, a schedule.JobBody for jobs of mqcron.
	Body []byte
	// Headers holds the other headers of the BROWSE reply, STOMP
	// 1.2-unescaped.
	Headers map[string]string
}

// Browse returns the jobs of the dispatch queue that the job scheduler
// stores, in the broker's order, which is by next fire time. Jobs for
// other destinations are left out.
//
// NOTE: on ActiveMQ 5.17.2, removing 200 jobs one by one in this order
// failed at the 180th REMOVE with a NullPointerException in the scheduler
// store's B-tree, on fresh brokers, and later REMOVEs on that broker kept
// failing. Removing the same 200 jobs in reverse order succeeded.
//
// It sends a BROWSE request with a temporary reply queue on a connection
// of its own. The broker queues all replies before it confirms the
// request, so Browse then sends an end marker to the same queue and reads
// until the marker arrives. On ActiveMQ 5.17 from Debian, BROWSE needs
// XStream on the broker's classpath: without it, the broker stops
// delivering to that connection, and Browse returns an error wrapping
// schedule.ErrUnavailable after Config.ReceiptTimeout without a message.
func (b *Broker) Browse(ctx context.Context) ([]BrowsedJob, error) {
	conn, err := b.cfg.dialStomp(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("activemq: browse: %w: %w", schedule.ErrUnavailable, err)
	}
	defer conn.MustDisconnect()

	replyTo := "/temp-queue/mqcron-browse-" + randomHex(8)
	sub, err := conn.Subscribe(replyTo, stomp.AckAuto,
		stomp.SubscribeOpt.Header("activemq.prefetchSize", "1000"))
	if err != nil {
		return nil, fmt.Errorf("activemq: browse: subscribe: %w: %w", schedule.ErrUnavailable, err)
	}
	// go-stomp stops reading frames, receipts included, while the
	// subscription's channel is full, so replies are read from the start.
	marker := randomHex(8)
	type result struct {
		jobs []BrowsedJob
		err  error
	}
	done := make(chan result, 1)
	go func() {
		jobs, err := b.collectBrowse(ctx, sub, marker)
		done <- result{jobs, err}
	}()

	err = conn.Send(managementTopic, "", nil, stomp.SendOpt.Receipt,
		stomp.SendOpt.Header(HeaderSchedulerAction, "BROWSE"),
		stomp.SendOpt.Header(stomp.ReplyToHeader, replyTo))
	if err == nil {
		err = conn.Send(replyTo, "", nil, stomp.SendOpt.Receipt,
			stomp.SendOpt.Header(headerBrowseEnd, marker))
	}
	if err != nil {
		// MustDisconnect ends collectBrowse.
		return nil, fmt.Errorf("activemq: browse: send: %w: %w", schedule.ErrUnavailable, err)
	}
	r := <-done
	return r.jobs, r.err
}

// collectBrowse reads BROWSE replies until the end marker arrives.
func (b *Broker) collectBrowse(
	ctx context.Context, sub *stomp.Subscription, marker string,
) ([]BrowsedJob, error) {
	var jobs []BrowsedJob
	idle := time.NewTimer(b.cfg.ReceiptTimeout)
	defer idle.Stop()

	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("activemq: browse: %w", ctx.Err())
		case <-idle.C:
			return nil, fmt.Errorf("activemq: browse: %w: no reply within %s; "+
				"the broker needs XStream on its classpath to answer BROWSE",
				schedule.ErrUnavailable, b.cfg.ReceiptTimeout)
		case m, ok := <-sub.C:
			if !ok || m.Err != nil {
				return nil, fmt.Errorf("activemq: browse: %w: connection lost", schedule.ErrUnavailable)
			}
			if m.Header.Get(headerBrowseEnd) == marker {
				return jobs, nil
			}
			j, err := browsedJob(m.Header, m.Body)
			if err != nil {
				return nil, fmt.Errorf("activemq: browse: %w", err)
			}
			if j.Destination == b.cfg.queueDestination() {
				jobs = append(jobs, j)
			}
			idle.Reset(b.cfg.ReceiptTimeout)
		}
	}
}

// browsedJob parses one BROWSE reply.
func browsedJob(h *frame.Header, body []byte) (BrowsedJob, error) {
	j := BrowsedJob{Body: body, Headers: map[string]string{}}
	for i := range h.Len() {
		k, v := h.GetAt(i)
		var err error
		switch k {
		case HeaderScheduledJobID:
			j.ID = v
		case "original-destination":
			j.Destination = v
		case HeaderScheduledCron:
			j.Cron = v
		case HeaderScheduledDelay:
			j.Delay, err = parseMillis(v)
		case HeaderScheduledPeriod:
			j.Period, err = parseMillis(v)
		case HeaderScheduledRepeat:
			j.Repeat, err = strconv.Atoi(v)
		case frame.Destination, frame.Subscription, frame.MessageId, frame.ContentLength, frame.Ack:
			// Properties of the reply, not of the job.
		default:
			j.Headers[k] = v
		}
		if err != nil {
			return j, fmt.Errorf("job %s: header %s: %w", j.ID, k, err)
		}
	}
	if j.ID == "" {
		return j, fmt.Errorf("reply without %s", HeaderScheduledJobID)
	}
	return j, nil
}

func parseMillis(v string) (time.Duration, error) {
	ms, err := strconv.ParseInt(v, 10, 64)
	return time.Duration(ms) * time.Millisecond, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
