// Package apitest runs mqcron's REST API against the local servers for
// tests and checks every request and response against the API's OpenAPI
// document with kin-openapi. It records which operations the tests
// exercised, so that a test package can assert that none was left out.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/mqcron/mqcron/httpapi"
)

// Contract validates exchanges against the OpenAPI document and counts
// the responses per operation and status. It is safe for concurrent use.
type Contract struct {
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]map[int]int // operationId, status, count
}

var (
	sharedOnce     sync.Once
	sharedContract *Contract
	sharedErr      error
)

// Shared returns the process-wide Contract built from httpapi.OpenAPI,
// so that every test of a package adds to one coverage record.
func Shared() (*Contract, error) {
	sharedOnce.Do(func() { sharedContract, sharedErr = NewContract(httpapi.OpenAPI()) })
	return sharedContract, sharedErr
}

// SharedContract returns Shared's Contract and fails the test when the
// document does not load.
func SharedContract(tb testing.TB) *Contract {
	tb.Helper()
	c, err := Shared()
	if err != nil {
		tb.Fatalf("load OpenAPI document: %v", err)
	}
	return c
}

// NewContract loads and validates an OpenAPI document. kin-openapi
// v0.153.0 loads OpenAPI 3.1 and, for a 3.1 document, validates bodies
// and parameters with its JSON Schema 2020-12 validator.
func NewContract(doc []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := t.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	router, err := legacy.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	return &Contract{doc: t, router: router, seen: map[string]map[int]int{}}, nil
}

// Response is an HTTP response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Check validates one exchange: req (whose body is body) against its
// operation and resp against the responses of that operation, including
// its status, headers and body. When breaksContract is true the request
// is meant to violate the document, and Check fails the test unless
// kin-openapi rejects it. Every failure is reported with tb.Errorf.
func (c *Contract) Check(tb testing.TB, req *http.Request, body []byte, resp *Response, breaksContract bool) {
	tb.Helper()
	name := req.Method + " " + req.URL.RequestURI()
	req = cloneWithBody(req, body)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		tb.Errorf("%s: no operation in the OpenAPI document: %v", name, err)
		return
	}

	ctx := context.Background()
	reqInput := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, reqInput)
	switch {
	case breaksContract && reqErr == nil:
		tb.Errorf("%s: request is marked as breaking the contract, but the OpenAPI document accepts it", name)
	case !breaksContract && reqErr != nil:
		tb.Errorf("%s: request violates the OpenAPI document: %v", name, reqErr)
	}

	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 resp.Status,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
		tb.Errorf("%s: response %d violates the OpenAPI document: %v\nbody: %s", name, resp.Status, err, truncate(resp.Body))
	}
	c.record(route.Operation.OperationID, resp.Status)
}

// HasOperation reports whether the document has an operation for method
// and path. It is for requests that the document does not describe, such
// as CORS preflight requests, which browsers send before an operation and
// API Gateway handles itself in AWS.
func (c *Contract) HasOperation(method, path string) bool {
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		return false
	}
	_, _, err = c.router.FindRoute(req)
	return err == nil
}

func (c *Contract) record(operationID string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[operationID] == nil {
		c.seen[operationID] = map[int]int{}
	}
	c.seen[operationID][status]++
}

// Coverage describes which operations of the document the checked
// exchanges reached.
type Coverage struct {
	// Operations lists every operationId of the document, sorted.
	Operations []string
	// Statuses maps each operationId to the statuses that were checked.
	Statuses map[string][]int
	// Untested lists operations without a checked 2xx response.
	Untested []string
	// UnseenErrors lists "operationId status" for documented error
	// statuses that no checked exchange returned.
	UnseenErrors []string
}

// Coverage returns the coverage of the exchanges checked so far.
func (c *Contract) Coverage() Coverage {
	c.mu.Lock()
	defer c.mu.Unlock()
	cov := Coverage{Statuses: map[string][]int{}}
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for _, op := range c.doc.Paths.Value(path).Operations() {
			id := op.OperationID
			cov.Operations = append(cov.Operations, id)
			statuses := make([]int, 0, len(c.seen[id]))
			for status := range c.seen[id] {
				statuses = append(statuses, status)
			}
			slices.Sort(statuses)
			cov.Statuses[id] = statuses
			if !slices.ContainsFunc(statuses, func(s int) bool { return s >= 200 && s < 300 }) {
				cov.Untested = append(cov.Untested, id)
			}
			for code := range op.Responses.Map() {
				if strings.HasPrefix(code, "4") || strings.HasPrefix(code, "5") {
					var status int
					_, _ = fmt.Sscanf(code, "%d", &status)
					if c.seen[id][status] == 0 {
						cov.UnseenErrors = append(cov.UnseenErrors, id+" "+code)
					}
				}
			}
		}
	}
	sort.Strings(cov.Operations)
	sort.Strings(cov.Untested)
	sort.Strings(cov.UnseenErrors)
	return cov
}

// Err returns an error naming the operations without a checked 2xx
// response, or nil when every operation has one.
func (cov Coverage) Err() error {
	if len(cov.Untested) == 0 {
		return nil
	}
	return errors.New("operations of the OpenAPI document without a tested success response: " +
		strings.Join(cov.Untested, ", "))
}

func cloneWithBody(req *http.Request, body []byte) *http.Request {
	clone := req.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.ContentLength = int64(len(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return clone
}

func truncate(b []byte) string {
	const n = 500
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
