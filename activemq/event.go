package activemq

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-stomp/stomp/v3/frame"
)

// Values of events.ActiveMQMessage.MessageType.
const (
	MessageTypeBytes = "jms/bytes-message"
	MessageTypeText  = "jms/text-message"
)

// EventSource is the events.ActiveMQEvent.EventSource value of Amazon MQ
// for ActiveMQ.
const EventSource = "aws:amq"

// JMS delivery modes, as in events.ActiveMQMessage.DeliveryMode.
const (
	deliveryNonPersistent = 1
	deliveryPersistent    = 2
)

// messageHeaders are the STOMP headers that map to fields of
// events.ActiveMQMessage or describe the delivery, so they are not message
// properties.
var messageHeaders = map[string]bool{
	frame.MessageId:     true,
	frame.Destination:   true,
	frame.Subscription:  true,
	frame.Ack:           true,
	frame.ContentLength: true,
	frame.ContentType:   true,
	"timestamp":         true,
	"expires":           true,
	"priority":          true,
	"persistent":        true,
	"redelivered":       true,
	"correlation-id":    true,
	"reply-to":          true,
	"type":              true,
}

// eventMessage converts one STOMP MESSAGE frame from ActiveMQ into the
// message that Lambda's Amazon MQ event source mapping delivers. Header
// values arrive STOMP 1.2-unescaped from go-stomp's reader.
func eventMessage(h *frame.Header, body []byte) (events.ActiveMQMessage, error) {
	m := events.ActiveMQMessage{
		MessageID:     h.Get(frame.MessageId),
		MessageType:   MessageTypeText,
		CorrelationID: h.Get("correlation-id"),
		ReplyTo:       h.Get("reply-to"),
		Type:          h.Get("type"),
		Redelivered:   h.Get("redelivered") == "true",
		DeliveryMode:  deliveryNonPersistent,
		Data:          base64.StdEncoding.EncodeToString(body),
		Destination: events.ActiveMQDestination{
			PhysicalName: physicalName(h.Get(frame.Destination)),
		},
		Properties: map[string]string{},
	}
	// ActiveMQ sends content-length for bytes messages only.
	if _, ok := h.Contains(frame.ContentLength); ok {
		m.MessageType = MessageTypeBytes
	}
	if h.Get("persistent") == "true" {
		m.DeliveryMode = deliveryPersistent
	}

	var err error
	if m.Timestamp, err = int64Header(h, "timestamp"); err != nil {
		return m, err
	}
	if m.Expiration, err = int64Header(h, "expires"); err != nil {
		return m, err
	}
	priority, err := int64Header(h, "priority")
	if err != nil {
		return m, err
	}
	m.Priority = int(priority)

	for i := range h.Len() {
		k, v := h.GetAt(i)
		if !messageHeaders[k] {
			m.Properties[k] = v
		}
	}
	return m, nil
}

// physicalName strips the STOMP destination prefix, so "/queue/a" becomes
// "a" as in the Lambda event.
func physicalName(dest string) string {
	for _, p := range []string{"/queue/", "/topic/", "/temp-queue/", "/temp-topic/"} {
		if name, ok := strings.CutPrefix(dest, p); ok {
			return name
		}
	}
	return dest
}

// int64Header returns the integer value of header k, or 0 when it is
// absent.
func int64Header(h *frame.Header, k string) (int64, error) {
	v, ok := h.Contains(k)
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("header %s: invalid integer %q", k, v)
	}
	return n, nil
}

// DecodeData returns the body of m. Lambda base64-encodes the body of text
// and bytes messages alike, so both decode the same way.
func DecodeData(m events.ActiveMQMessage) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return nil, fmt.Errorf("activemq: decode data of message %s: %w", m.MessageID, err)
	}
	return b, nil
}
