package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string                `json:"type"`
	Title  string                `json:"title"`
	Status int                   `json:"status"`
	Detail string                `json:"detail,omitempty"`
	Errors []schedule.FieldError `json:"errors,omitempty"`
}

// problemFor maps an error to its status and problem body. Errors that
// no rule matches are internal: their details go to the log only.
func problemFor(err error) Problem {
	var verr *schedule.ValidationError
	if errors.As(err, &verr) {
		p := Problem{Status: http.StatusBadRequest, Title: "Invalid request", Errors: verr.Fields}
		if len(verr.Fields) > 0 {
			p.Detail = verr.Fields[0].Pointer + " " + verr.Fields[0].Message
			if verr.Fields[0].Pointer == "" {
				p.Detail = verr.Fields[0].Message
			}
		}
		return p
	}
	// A rule with a fixed detail hides the error text, which names
	// adapters and internal keys; the others' error texts are written for
	// the client.
	rules := []struct {
		target error
		status int
		title  string
		detail string
	}{
		{schedule.ErrNotFound, http.StatusNotFound, "Schedule not found",
			"No schedule with this id exists for the caller; list the caller's schedules with GET /schedules."},
		{schedule.ErrConflict, http.StatusConflict, "Name already in use",
			"Another schedule of the caller has this name; choose another name or change that schedule."},
		{schedule.ErrVersionMismatch, http.StatusPreconditionFailed, "Schedule changed",
			"The schedule changed since the ETag sent in If-Match, so nothing was changed; GET it again and retry with the new ETag."},
		{schedule.ErrUnavailable, http.StatusServiceUnavailable, "Broker or store unavailable",
			"The request changed nothing; retry it in a few seconds."},
		{schedule.ErrKeyReused, http.StatusUnprocessableEntity, "Idempotency key reused",
			"This Idempotency-Key was first sent with another request body; send a new key for a new schedule."},
		{scheduler.ErrQuotaExceeded, http.StatusTooManyRequests, "Limit reached", ""},
		{errUnauthorized, http.StatusUnauthorized, "Caller not identified", ""},
		{errUnsupportedMedia, http.StatusUnsupportedMediaType, "Unsupported media type", ""},
		{errTooLarge, http.StatusRequestEntityTooLarge, "Request body too large", ""},
		{errNoRoute, http.StatusNotFound, "No such resource", ""},
		{errMethodNotAllowed, http.StatusMethodNotAllowed, "Method not allowed", ""},
	}
	for _, rule := range rules {
		if !errors.Is(err, rule.target) {
			continue
		}
		p := Problem{Status: rule.status, Title: rule.title, Detail: rule.detail}
		if p.Detail == "" {
			p.Detail = err.Error()
		}
		if rule.status == http.StatusConflict {
			p.Errors = []schedule.FieldError{{Pointer: "/name", Message: "is already used by another schedule of the caller"}}
		}
		return p
	}
	return Problem{Status: http.StatusInternalServerError, Title: "Internal error"}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Type = "about:blank"
	switch {
	case p.Status >= 500:
		h.c.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "error", err)
	case p.Status == http.StatusNotFound || p.Status == http.StatusPreconditionFailed:
		h.c.Logger.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", p.Status, "error", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
