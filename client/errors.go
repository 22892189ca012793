package client

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// Problem is an RFC 9457 problem details body as the API sends it.
type Problem struct {
	Type   string                `json:"type,omitempty"`
	Title  string                `json:"title"`
	Status int                   `json:"status,omitempty"`
	Detail string                `json:"detail,omitempty"`
	Errors []schedule.FieldError `json:"errors,omitempty"`
}

// APIError is a non-2xx response. When the body is not problem+json, as
// with API Gateway's own 403 bodies {"message": "..."}, Problem holds the
// status text as title and the message or body text as detail.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Problem    Problem
	// RetryAfter is the parsed Retry-After header, or 0 when absent.
	RetryAfter time.Duration
	// Body is the raw response body.
	Body []byte
}

// maxDetailBytes limits the detail taken from a body that is not
// problem+json, such as an HTML error page from a proxy.
const maxDetailBytes = 1024

func newAPIError(method, path string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Body: body}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/problem+json" || mediaType == "application/json" {
		if json.Unmarshal(body, &e.Problem) == nil && e.Problem.Title != "" {
			return e
		}
		var gateway struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &gateway) == nil && gateway.Message != "" {
			e.Problem = Problem{Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode, Detail: gateway.Message}
			return e
		}
	}
	detail := strings.TrimSpace(string(body))
	if len(detail) > maxDetailBytes {
		detail = detail[:maxDetailBytes] + "..."
	}
	e.Problem = Problem{Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode, Detail: detail}
	return e
}

// Error returns the status, title and detail on one line. Field errors are
// in Problem.Errors.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Problem.Title)
	if e.Problem.Detail != "" {
		msg += ": " + e.Problem.Detail
	}
	return msg
}
