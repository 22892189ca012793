// Package iotcore publishes messages to AWS IoT Core topics through the
// data plane's HTTPS Publish API (POST /topics/{topic}), signed with SigV4
// for the signing name "iotdata". It needs no IoT SDK module: the request
// is built here and signed with aws-sdk-go-v2's v4 signer.
package iotcore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/mqcron/mqcron/schedule"
)

// SigningName is the SigV4 service name of the IoT data plane.
const SigningName = "iotdata"

// DefaultTimeout bounds one Publish request when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// maxErrorBody is how much of an error response Publish reads.
const maxErrorBody = 4 << 10

// Config configures a Publisher.
type Config struct {
	// Endpoint is the account's data endpoint host (iot:Data-ATS, such as
	// "abc123-ats.iot.eu-west-1.amazonaws.com"), or a full URL with scheme
	// (tests use "https://127.0.0.1:port").
	Endpoint string
	// Region is the AWS Region used in the signature.
	Region string
	// Credentials signs each request.
	Credentials aws.CredentialsProvider
	// HTTPClient sends the requests. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each Publish call, including retrieving credentials.
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// Publisher implements schedule.Publisher on IoT Core's HTTPS API.
type Publisher struct {
	base    *url.URL
	region  string
	creds   aws.CredentialsProvider
	client  *http.Client
	timeout time.Duration
	signer  *v4.Signer
	now     func() time.Time
}

var _ schedule.Publisher = (*Publisher)(nil)

// New returns a Publisher for c. An invalid endpoint makes every Publish
// fail with a permanent error.
func New(c Config) *Publisher {
	p := &Publisher{
		region:  c.Region,
		creds:   c.Credentials,
		client:  c.HTTPClient,
		timeout: c.Timeout,
		// IoT data uses the default SigV4 canonical URI rule: the escaped
		// path is escaped once more (only S3 disables that), as the AWS
		// SDKs' iot-data clients do.
		signer: v4.NewSigner(),
		now:    time.Now,
	}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	endpoint := c.Endpoint
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		p.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	return p
}

// Error is a Publish request that IoT Core rejected. It unwraps to
// schedule.ErrRetryable for throttling (429) and server errors (5xx).
type Error struct {
	Topic      string
	StatusCode int
	// Type is IoT Core's error type from the x-amzn-ErrorType header, such
	// as "ThrottlingException".
	Type    string
	Message string
}

// Error returns the status, type and IoT Core's message.
func (e *Error) Error() string {
	msg := fmt.Sprintf("iotcore: publish to %q: status %d", e.Topic, e.StatusCode)
	if e.Type != "" {
		msg += " " + e.Type
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Retryable reports whether a later attempt may succeed.
func (e *Error) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Unwrap returns schedule.ErrRetryable for retryable errors.
func (e *Error) Unwrap() error {
	if e.Retryable() {
		return schedule.ErrRetryable
	}
	return nil
}

// Publish sends m to IoT Core. Throttling, 5xx responses, timeouts and
// connection errors wrap schedule.ErrRetryable. Other rejections return an
// *Error that does not.
func (p *Publisher) Publish(ctx context.Context, m *schedule.Message) error {
	req, err := p.newRequest(ctx, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req = req.WithContext(ctx)
	if err := p.sign(ctx, req, m.Payload); err != nil {
		return err
	}

	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("iotcore: publish to %q: %w: %w", m.Topic, schedule.ErrRetryable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &Error{
		Topic:      m.Topic,
		StatusCode: resp.StatusCode,
		Type:       errorType(resp.Header.Get("x-amzn-ErrorType")),
		Message:    errorMessage(body),
	}
}

// newRequest builds the unsigned request for m.
func (p *Publisher) newRequest(ctx context.Context, m *schedule.Message) (*http.Request, error) {
	switch {
	case p.base == nil:
		return nil, fmt.Errorf("iotcore: publish: invalid endpoint")
	case m.Topic == "":
		return nil, fmt.Errorf("iotcore: publish: missing topic")
	case m.QoS != 0 && m.QoS != 1:
		return nil, fmt.Errorf("iotcore: publish to %q: qos %d is not 0 or 1", m.Topic, m.QoS)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base.String(), bytes.NewReader(m.Payload))
	if err != nil {
		return nil, fmt.Errorf("iotcore: publish to %q: %w", m.Topic, err)
	}
	// RawPath carries the escaped topic. net/http sends it and the signer
	// reads it, because it is a valid encoding of Path.
	req.URL.Path = "/topics/" + m.Topic
	req.URL.RawPath = "/topics/" + EscapeTopic(m.Topic)
	req.URL.RawQuery = encodeQuery(m)
	req.Header.Set("Content-Type", "application/octet-stream")
	if len(m.UserProperties) > 0 {
		req.Header.Set("x-amz-mqtt5-user-properties", encodeUserProperties(m.UserProperties))
	}
	return req, nil
}

func (p *Publisher) sign(ctx context.Context, req *http.Request, payload []byte) error {
	if p.creds == nil {
		return fmt.Errorf("iotcore: publish: no credentials provider")
	}
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("iotcore: retrieve credentials: %w: %w", schedule.ErrRetryable, err)
	}
	sum := sha256.Sum256(payload)
	err = p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningName, p.region, p.now())
	if err != nil {
		return fmt.Errorf("iotcore: sign request: %w", err)
	}
	return nil
}

// EscapeTopic returns topic as one URI path segment: every byte except the
// RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) is percent-encoded,
// '/' included. This is how the AWS SDKs encode the {topic} label, and it
// keeps a leading slash ("/records" and "records" are different topics).
func EscapeTopic(topic string) string {
	var b strings.Builder
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// encodeQuery returns the query string of m in the SigV4 canonical form
// (sorted names, unreserved characters kept, everything else escaped), so
// that what is sent is exactly what is signed.
func encodeQuery(m *schedule.Message) string {
	params := map[string]string{"qos": strconv.Itoa(m.QoS)}
	if m.Retain {
		params["retain"] = "true"
	}
	if m.ContentType != "" {
		params["contentType"] = m.ContentType
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = EscapeTopic(name) + "=" + EscapeTopic(params[name])
	}
	return strings.Join(parts, "&")
}

// encodeUserProperties returns the x-amz-mqtt5-user-properties header
// value: the base64 of a JSON array of single-pair objects, such as
// [{"deviceName":"alpha"},{"deviceCnt":"45"}], in key order.
func encodeUserProperties(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	list := make([]map[string]string, len(keys))
	for i, k := range keys {
		list[i] = map[string]string{k: props[k]}
	}
	b, _ := json.Marshal(list) // maps of strings always encode
	return base64.StdEncoding.EncodeToString(b)
}

// errorType strips the ":http://..." suffix that AWS services may append to
// x-amzn-ErrorType.
func errorType(h string) string {
	name, _, _ := strings.Cut(h, ":")
	return name
}

// errorMessage returns the "message" (or "Message") field of an AWS JSON
// error body, or the trimmed body when it is not JSON.
func errorMessage(body []byte) string {
	var e struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if err := json.Unmarshal(body, &e); err == nil {
		if e.Message != "" {
			return e.Message
		}
		return e.Message2
	}
	return strings.TrimSpace(string(body))
}
