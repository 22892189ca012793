// Package httpapi serves the scheduler's REST API over net/http. The local
// runner serves it directly; the scheduler Lambda feeds it API Gateway
// proxy requests.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// MaxBodyBytes limits request bodies: the largest payload, base64-encoded,
// plus room for the other fields.
const MaxBodyBytes = 256 * 1024

// OwnerFunc returns the owner of a request's caller, or an error when the
// caller is not identified.
type OwnerFunc func(r *http.Request) (string, error)

// DevOwnerHeader names the caller in local mode.
const DevOwnerHeader = "X-Mqcron-Dev-Owner"

// DevOwner reads the owner from the X-Mqcron-Dev-Owner header and returns
// "local" when it is absent. Only the local runner uses it.
func DevOwner(r *http.Request) (string, error) {
	owner := r.Header.Get(DevOwnerHeader)
	if owner == "" {
		return "local", nil
	}
	if len(owner) > 128 || strings.ContainsFunc(owner, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return "", schedule.Invalid("", "header %s must be 1 to 128 printable ASCII characters", DevOwnerHeader)
	}
	return owner, nil
}

// Config configures a Handler.
type Config struct {
	Service *scheduler.Service
	Owner   OwnerFunc
	// CORSOrigins lists the origins allowed to call the API from a browser;
	// "*" allows any.
	CORSOrigins []string
	// Extra routes, such as /metrics in local mode.
	Extra  map[string]http.Handler
	Logger *slog.Logger
}

// Handler is the REST API.
type Handler struct {
	c   Config
	mux *http.ServeMux
}

// New returns the API handler for c.
func New(c Config) *Handler {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	h := &Handler{c: c, mux: http.NewServeMux()}
	h.routes()
	return h
}

func (h *Handler) routes() {
	h.mux.HandleFunc("POST /schedules", h.withOwner(h.create))
	h.mux.HandleFunc("GET /schedules", h.withOwner(h.list))
	h.mux.HandleFunc("GET /schedules/{id}", h.withOwner(h.get))
	h.mux.HandleFunc("PUT /schedules/{id}", h.withOwner(h.replace))
	h.mux.HandleFunc("PATCH /schedules/{id}", h.withOwner(h.patch))
	h.mux.HandleFunc("DELETE /schedules/{id}", h.withOwner(h.delete))
	h.mux.HandleFunc("POST /schedules/{id}/pause", h.withOwner(h.setState(schedule.StateDisabled)))
	h.mux.HandleFunc("POST /schedules/{id}/resume", h.withOwner(h.setState(schedule.StateEnabled)))
	h.mux.HandleFunc("POST /schedules/{id}/trigger", h.withOwner(h.trigger))
	h.mux.HandleFunc("GET /schedules/{id}/runs", h.withOwner(h.runs))
	h.mux.HandleFunc("POST /preview", h.preview)
	h.mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for pattern, handler := range h.c.Extra {
		h.mux.Handle(pattern, handler)
	}
	h.mux.HandleFunc("/", h.noRoute)
}

// routeMethods are the methods that noRoute tries when it lists the
// methods a path allows.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute handles requests that match no route with a problem: 405 with an
// Allow header when the path exists for other methods, 404 otherwise.
func (h *Handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range routeMethods {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := h.mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) == 0 {
		h.writeError(w, r, fmt.Errorf("%w: no resource at %s", errNoRoute, r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	h.writeError(w, r, fmt.Errorf("%w: %s %s; use %s", errMethodNotAllowed, r.Method, r.URL.Path, strings.Join(allowed, ", ")))
}

// ServeHTTP applies CORS and the body limit, then routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && h.allowOrigin(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		w.Header().Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, Idempotency-Key, "+DevOwnerHeader)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) allowOrigin(origin string) bool {
	return slices.Contains(h.c.CORSOrigins, "*") || slices.Contains(h.c.CORSOrigins, origin)
}

type ownedHandler func(w http.ResponseWriter, r *http.Request, owner string)

// withOwner identifies the caller before next runs. A schedule id that the
// server cannot have issued gets 404 without a store read, because
// DynamoDB rejects keys above 2048 bytes with an error that is not the
// client's to see.
func (h *Handler) withOwner(next ownedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		owner, err := h.c.Owner(r)
		if err != nil {
			h.writeError(w, r, fmt.Errorf("%w: %w", errUnauthorized, err))
			return
		}
		if id := r.PathValue("id"); id != "" && !scheduler.ValidID(id) {
			h.writeError(w, r, fmt.Errorf("get schedule %q: %w", id, schedule.ErrNotFound))
			return
		}
		next(w, r, owner)
	}
}

var (
	errUnauthorized     = errors.New("unauthorized")
	errNoRoute          = errors.New("no route")
	errMethodNotAllowed = errors.New("method not allowed")
)

func (h *Handler) create(w http.ResponseWriter, r *http.Request, owner string) {
	in, err := readSchedule(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 128 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		h.writeError(w, r, schedule.Invalid("", "header Idempotency-Key must be 1 to 128 printable ASCII characters"))
		return
	}
	sched, err := h.c.Service.Create(r.Context(), owner, key, in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/schedules/"+sched.ID)
	writeSchedule(w, http.StatusCreated, sched)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, owner string) {
	q := r.URL.Query()
	f := schedule.ListFilter{
		NamePrefix:  q.Get("namePrefix"),
		TopicPrefix: q.Get("topicPrefix"),
		State:       schedule.State(q.Get("state")),
		Cursor:      q.Get("nextToken"),
		Limit:       50,
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			h.writeError(w, r, schedule.Invalid("/limit", "is %q; give a whole number from 1 to 100", v))
			return
		}
		f.Limit = n
	}
	if n := utf8.RuneCountInString(f.NamePrefix); n > schedule.MaxNameLength {
		h.writeError(w, r, schedule.Invalid("/namePrefix", "is %d characters long; names have at most %d", n, schedule.MaxNameLength))
		return
	}
	if n := len(f.TopicPrefix); n > schedule.MaxTopicBytes {
		h.writeError(w, r, schedule.Invalid("/topicPrefix", "is %d bytes long; topics have at most %d", n, schedule.MaxTopicBytes))
		return
	}
	switch f.State {
	case "", schedule.StateEnabled, schedule.StateDisabled, schedule.StateCompleted:
	default:
		h.writeError(w, r, schedule.Invalid("/state", "is %q; filter by ENABLED, DISABLED or COMPLETED", f.State))
		return
	}
	items, next, err := h.c.Service.List(r.Context(), owner, f)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if items == nil {
		items = []*schedule.Schedule{}
	}
	writeJSON(w, http.StatusOK, struct {
		Schedules []*schedule.Schedule `json:"schedules"`
		NextToken string               `json:"nextToken,omitempty"`
	}{items, next})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, owner string) {
	sched, err := h.c.Service.Get(r.Context(), owner, r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeSchedule(w, http.StatusOK, sched)
}

func (h *Handler) replace(w http.ResponseWriter, r *http.Request, owner string) {
	version, err := ifMatch(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	in, err := readSchedule(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sched, err := h.c.Service.Replace(r.Context(), owner, r.PathValue("id"), version, in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeSchedule(w, http.StatusOK, sched)
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, owner string) {
	version, err := ifMatch(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body, err := readBody(r, "application/merge-patch+json", "application/json")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sched, err := h.c.Service.Patch(r.Context(), owner, r.PathValue("id"), version, body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeSchedule(w, http.StatusOK, sched)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, owner string) {
	version, err := ifMatch(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.c.Service.Delete(r.Context(), owner, r.PathValue("id"), version); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) setState(state schedule.State) ownedHandler {
	return func(w http.ResponseWriter, r *http.Request, owner string) {
		version, err := ifMatch(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		var in struct {
			Note string `json:"note"`
		}
		if err := readOptionalJSON(r, &in); err != nil {
			h.writeError(w, r, err)
			return
		}
		sched, err := h.c.Service.SetState(r.Context(), owner, r.PathValue("id"), version, state, in.Note)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writeSchedule(w, http.StatusOK, sched)
	}
}

func (h *Handler) trigger(w http.ResponseWriter, r *http.Request, owner string) {
	at, err := h.c.Service.Trigger(r.Context(), owner, r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"fireAt": at.Format(time.RFC3339Nano),
		"fireId": schedule.FireID(r.PathValue("id"), at),
	})
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request, owner string) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			h.writeError(w, r, schedule.Invalid("/limit", "is %q; give a whole number from 1 to 100", v))
			return
		}
		limit = n
	}
	runs, err := h.c.Service.Runs(r.Context(), owner, r.PathValue("id"), limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if runs == nil {
		runs = []*schedule.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// ifMatch returns the version named by the If-Match header, or 0 when the
// header is absent or "*".
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(v, "W/"), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, schedule.Invalid("", "header If-Match is %q; send the ETag of a GET response, such as \"3\"", v)
	}
	return n, nil
}

func readSchedule(r *http.Request) (*schedule.Schedule, error) {
	body, err := readBody(r, "application/json")
	if err != nil {
		return nil, err
	}
	var in schedule.Schedule
	if err := scheduler.DecodeStrict(body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// readBody reads the request body after checking its media type.
func readBody(r *http.Request, mediaTypes ...string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(mediaTypes, mt) {
		return nil, fmt.Errorf("%w: Content-Type is %q; send %s", errUnsupportedMedia, r.Header.Get("Content-Type"), strings.Join(mediaTypes, " or "))
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%w: the body is larger than %d bytes", errTooLarge, tooLarge.Limit)
	}
	return body, err
}

var (
	errUnsupportedMedia = errors.New("unsupported media type")
	errTooLarge         = errors.New("request body too large")
)

// readOptionalJSON decodes a JSON object body into v when there is one.
func readOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	body, err := readBody(r, "application/json")
	if err != nil || len(body) == 0 {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return schedule.Invalid("", "the body is not a valid JSON object for this request: %v", err)
	}
	return nil
}

func writeSchedule(w http.ResponseWriter, status int, sched *schedule.Schedule) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(sched.Version, 10)))
	writeJSON(w, status, sched)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// contextKey keys values that adapters put in a request's context.
type contextKey struct{ name string }

// OwnerKey is the context key under which the Lambda adapter stores the
// owner taken from the API Gateway authorizer.
var OwnerKey = &contextKey{"owner"}

// ContextOwner reads the owner that an adapter stored under OwnerKey.
func ContextOwner(r *http.Request) (string, error) {
	owner, _ := r.Context().Value(OwnerKey).(string)
	if owner == "" {
		return "", errors.New("the request carries no authorizer identity")
	}
	return owner, nil
}

// WithOwner returns ctx carrying owner for ContextOwner.
func WithOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, OwnerKey, owner)
}
