package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// Media types of request bodies.
const (
	ContentTypeJSON       = "application/json"
	ContentTypeMergePatch = "application/merge-patch+json"
)

// CreateSchedule creates in. A non-empty idempotencyKey is sent in the
// Idempotency-Key header, so a retried call returns the schedule that the
// first call created instead of creating a second one.
func (c *Client) CreateSchedule(ctx context.Context, in *schedule.Schedule, idempotencyKey string) (*schedule.Schedule, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("client: encode schedule: %w", err)
	}
	return c.CreateScheduleJSON(ctx, body, idempotencyKey)
}

// CreateScheduleJSON creates the schedule whose JSON text is body. The
// API, not the client, validates body, so its field errors name the
// fields exactly as the caller wrote them.
func (c *Client) CreateScheduleJSON(ctx context.Context, body []byte, idempotencyKey string) (*schedule.Schedule, error) {
	var header http.Header
	if idempotencyKey != "" {
		header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	var out schedule.Schedule
	_, err := c.do(ctx, request{
		method: http.MethodPost, path: "/schedules",
		body: body, contentType: ContentTypeJSON, header: header,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOptions filters GET /schedules. Zero values send no filter.
type ListOptions struct {
	NamePrefix  string
	TopicPrefix string
	State       schedule.State
	// Limit is the page size, 1 to 100; 0 leaves it to the API (50).
	Limit int
	// NextToken is the token of the previous page.
	NextToken string
}

// ListPage is one page of GET /schedules.
type ListPage struct {
	Schedules []*schedule.Schedule `json:"schedules"`
	// NextToken is empty on the last page.
	NextToken string `json:"nextToken,omitempty"`
}

// ListSchedules returns one page of the caller's schedules.
func (c *Client) ListSchedules(ctx context.Context, o ListOptions) (*ListPage, error) {
	q := url.Values{}
	for key, value := range map[string]string{
		"namePrefix":  o.NamePrefix,
		"topicPrefix": o.TopicPrefix,
		"state":       string(o.State),
		"nextToken":   o.NextToken,
	} {
		if value != "" {
			q.Set(key, value)
		}
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var page ListPage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/schedules", query: q}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllSchedules returns an iterator over every schedule that matches o,
// following nextToken from page to page. It starts at o.NextToken. The
// iterator yields a non-nil error once and then stops.
func (c *Client) AllSchedules(ctx context.Context, o ListOptions) iter.Seq2[*schedule.Schedule, error] {
	return func(yield func(*schedule.Schedule, error) bool) {
		for {
			page, err := c.ListSchedules(ctx, o)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, s := range page.Schedules {
				if !yield(s, nil) {
					return
				}
			}
			if page.NextToken == "" {
				return
			}
			o.NextToken = page.NextToken
		}
	}
}

// GetSchedule returns schedule id.
func (c *Client) GetSchedule(ctx context.Context, id string) (*schedule.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodGet, id, "", nil, "", 0)
}

// ReplaceSchedule replaces schedule id with in (PUT). A non-zero ifMatch
// is sent as If-Match, so the API returns 412 when the stored version
// differs.
func (c *Client) ReplaceSchedule(ctx context.Context, id string, in *schedule.Schedule, ifMatch int64) (*schedule.Schedule, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("client: encode schedule: %w", err)
	}
	return c.ReplaceScheduleJSON(ctx, id, body, ifMatch)
}

// ReplaceScheduleJSON replaces schedule id with the schedule whose JSON
// text is body (PUT), with If-Match as in ReplaceSchedule.
func (c *Client) ReplaceScheduleJSON(ctx context.Context, id string, body []byte, ifMatch int64) (*schedule.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodPut, id, "", body, ContentTypeJSON, ifMatch)
}

// PatchSchedule applies the JSON merge patch (RFC 7396) in patch to
// schedule id, with If-Match as in ReplaceSchedule.
func (c *Client) PatchSchedule(ctx context.Context, id string, patch []byte, ifMatch int64) (*schedule.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodPatch, id, "", patch, ContentTypeMergePatch, ifMatch)
}

// DeleteSchedule deletes schedule id, with If-Match as in
// ReplaceSchedule.
func (c *Client) DeleteSchedule(ctx context.Context, id string, ifMatch int64) error {
	path, err := schedulePath(id, "")
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: path, header: ifMatchHeader(ifMatch)}, nil)
	return err
}

// PauseSchedule sets schedule id to DISABLED. A non-empty note is stored
// as the schedule's stateNote. If-Match is as in ReplaceSchedule.
func (c *Client) PauseSchedule(ctx context.Context, id, note string, ifMatch int64) (*schedule.Schedule, error) {
	return c.setState(ctx, id, "/pause", note, ifMatch)
}

// ResumeSchedule sets schedule id to ENABLED, with note and If-Match as
// in PauseSchedule.
func (c *Client) ResumeSchedule(ctx context.Context, id, note string, ifMatch int64) (*schedule.Schedule, error) {
	return c.setState(ctx, id, "/resume", note, ifMatch)
}

func (c *Client) setState(ctx context.Context, id, suffix, note string, ifMatch int64) (*schedule.Schedule, error) {
	var body []byte
	if note != "" {
		var err error
		if body, err = json.Marshal(map[string]string{"note": note}); err != nil {
			return nil, fmt.Errorf("client: encode note: %w", err)
		}
	}
	return c.scheduleCall(ctx, http.MethodPost, id, suffix, body, ContentTypeJSON, ifMatch)
}

// Trigger is the fire that POST /schedules/{id}/trigger queued.
type Trigger struct {
	FireAt time.Time `json:"fireAt"`
	FireID string    `json:"fireId"`
}

// TriggerSchedule requests one fire of schedule id now, outside its
// expression.
func (c *Client) TriggerSchedule(ctx context.Context, id string) (*Trigger, error) {
	path, err := schedulePath(id, "/trigger")
	if err != nil {
		return nil, err
	}
	var out Trigger
	if _, err := c.do(ctx, request{method: http.MethodPost, path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRuns returns the latest runs of schedule id, newest first as the
// API orders them. A limit of 0 leaves the count to the API (20).
func (c *Client) ListRuns(ctx context.Context, id string, limit int) ([]*schedule.Run, error) {
	path, err := schedulePath(id, "/runs")
	if err != nil {
		return nil, err
	}
	var q url.Values
	if limit != 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	var out struct {
		Runs []*schedule.Run `json:"runs"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q}, &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// PreviewRequest is the body of POST /preview.
type PreviewRequest struct {
	ScheduleExpression         string     `json:"scheduleExpression"`
	ScheduleExpressionTimezone string     `json:"scheduleExpressionTimezone,omitempty"`
	StartDate                  *time.Time `json:"startDate,omitempty"`
	EndDate                    *time.Time `json:"endDate,omitempty"`
	// After is the instant after which fires are counted; nil means now.
	After *time.Time `json:"after,omitempty"`
	// Count is the number of fires; 0 leaves it to the API (10).
	Count int `json:"count,omitempty"`
}

// Preview returns the next fires of an expression as RFC 3339 instants.
func (c *Client) Preview(ctx context.Context, in PreviewRequest) ([]string, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("client: encode preview request: %w", err)
	}
	var out struct {
		Fires []string `json:"fires"`
	}
	_, err = c.do(ctx, request{method: http.MethodPost, path: "/preview", body: body, contentType: ContentTypeJSON}, &out)
	if err != nil {
		return nil, err
	}
	return out.Fires, nil
}

// scheduleCall sends a request about schedule id whose response is a
// schedule.
func (c *Client) scheduleCall(ctx context.Context, method, id, suffix string, body []byte, contentType string, ifMatch int64) (*schedule.Schedule, error) {
	path, err := schedulePath(id, suffix)
	if err != nil {
		return nil, err
	}
	var out schedule.Schedule
	_, err = c.do(ctx, request{
		method: method, path: path, body: body, contentType: contentType,
		header: ifMatchHeader(ifMatch),
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
