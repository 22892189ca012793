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
	rules := []struct {
		target error
		status int
		title  string
	}{
		{schedule.ErrNotFound, http.StatusNotFound, "Schedule not found"},
		{schedule.ErrConflict, http.StatusConflict, "Name already in use"},
		{schedule.ErrVersionMismatch, http.StatusPreconditionFailed, "Schedule changed"},
		{schedule.ErrUnavailable, http.StatusServiceUnavailable, "Broker or store unavailable"},
		{scheduler.ErrQuotaExceeded, http.StatusTooManyRequests, "Limit reached"},
		{errUnauthorized, http.StatusUnauthorized, "Caller not identified"},
		{errUnsupportedMedia, http.StatusUnsupportedMediaType, "Unsupported media type"},
		{errTooLarge, http.StatusRequestEntityTooLarge, "Request body too large"},
	}
	for _, rule := range rules {
		if errors.Is(err, rule.target) {
			p := Problem{Status: rule.status, Title: rule.title, Detail: err.Error()}
			if rule.status == http.StatusServiceUnavailable {
				p.Detail = "The request changed nothing; retry it in a few seconds."
			}
			return p
		}
	}
	return Problem{Status: http.StatusInternalServerError, Title: "Internal error"}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Type = "about:blank"
	if p.Status >= 500 {
		h.c.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "error", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
