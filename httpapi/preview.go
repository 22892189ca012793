package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
	"github.com/mqcron/mqcron/timing"
)

// PreviewRequest is the body of POST /preview.
type PreviewRequest struct {
	ScheduleExpression         string     `json:"scheduleExpression"`
	ScheduleExpressionTimezone string     `json:"scheduleExpressionTimezone,omitempty"`
	StartDate                  *time.Time `json:"startDate,omitempty"`
	EndDate                    *time.Time `json:"endDate,omitempty"`
	After                      *time.Time `json:"after,omitempty"`
	Count                      int        `json:"count,omitempty"`
}

func (h *Handler) preview(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, "application/json")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var in PreviewRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		h.writeError(w, r, schedule.Invalid("", "the body is not a valid preview request: %v", err))
		return
	}
	after := time.Now()
	if in.After != nil {
		after = *in.After
	}
	if in.Count == 0 {
		in.Count = 10
	}
	fires, err := scheduler.Preview(in.ScheduleExpression, timing.Options{
		Timezone: in.ScheduleExpressionTimezone,
		Start:    in.StartDate,
		End:      in.EndDate,
	}, after, in.Count)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"fires": timing.FormatFires(fires)})
}

//go:embed openapi.json
var openAPIFiles embed.FS

// OpenAPI returns the OpenAPI 3.1 document of the API, as GET
// /openapi.json serves it.
func OpenAPI() []byte {
	doc, err := openAPIFiles.ReadFile("openapi.json")
	if err != nil {
		panic(err) // The file is embedded at build time.
	}
	return doc
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI())
}
