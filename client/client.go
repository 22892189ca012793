// Package client is a typed Go client for mqcron's REST API. It sends the
// local development owner header, signs requests with SigV4 for an API
// behind IAM auth, or sends a Cognito token, and returns every non-2xx
// response as an *APIError that carries the problem+json body.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DevOwnerHeader names the caller to a local API. API Gateway deployments
// ignore it and take the owner from the authorizer instead.
const DevOwnerHeader = "X-Mqcron-Dev-Owner"

// maxResponseBytes limits how much of a response body the client reads.
// The largest schedule response is below 1 MiB (128 KB payload, base64,
// plus fields), so 8 MiB leaves ample room for a page of 100 schedules.
const maxResponseBytes = 8 << 20

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, such as http://127.0.0.1:8080 or
	// https://abc123.execute-api.eu-west-1.amazonaws.com/prod.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// DevOwner, when not empty, is sent in the X-Mqcron-Dev-Owner header.
	DevOwner string
	// Auth adds credentials to each request; nil sends none.
	Auth Authorizer
	// UserAgent, when not empty, replaces Go's default User-Agent.
	UserAgent string
}

// Client calls one mqcron API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	c    Config
}

// New returns a Client for c. It returns an error when BaseURL is not an
// absolute http or https URL.
func New(c Config) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: API URL %q: %w", c.BaseURL, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("client: API URL %q is not an absolute http or https URL", c.BaseURL)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: base, c: c}, nil
}

// request describes one API call.
type request struct {
	method      string
	path        string // escaped, relative to the base URL, starting with "/"
	query       url.Values
	body        []byte
	contentType string
	header      http.Header
}

// do sends req and decodes a 2xx JSON response into out when out is not
// nil. A non-2xx response becomes an *APIError.
func (c *Client) do(ctx context.Context, req request, out any) (*http.Response, error) {
	target := c.base.String() + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}

	var body io.Reader = http.NoBody
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	hr.Header.Set("Accept", "application/json, application/problem+json")
	if req.body != nil {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if c.c.DevOwner != "" {
		hr.Header.Set(DevOwnerHeader, c.c.DevOwner)
	}
	if c.c.UserAgent != "" {
		hr.Header.Set("User-Agent", c.c.UserAgent)
	}
	if c.c.Auth != nil {
		if err := c.c.Auth.Authorize(ctx, hr, req.body); err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
		}
	}

	resp, err := c.c.HTTPClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: read response: %w", req.method, req.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, newAPIError(req.method, req.path, resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("client: %s %s: decode %d response: %w", req.method, req.path, resp.StatusCode, err)
		}
	}
	return resp, nil
}

// schedulePath returns the escaped path of schedule id plus suffix.
func schedulePath(id, suffix string) (string, error) {
	if id == "" {
		return "", errors.New("client: schedule id is empty")
	}
	return "/schedules/" + url.PathEscape(id) + suffix, nil
}

// ifMatchHeader returns the If-Match header for version, or nil when
// version is 0.
func ifMatchHeader(version int64) http.Header {
	if version == 0 {
		return nil
	}
	return http.Header{"If-Match": {strconv.Quote(strconv.FormatInt(version, 10))}}
}
