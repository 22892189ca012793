package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/mqcron/mqcron/schedule"
)

// rawTTL is the time to live of raw scheduled messages, as the product
// sends with every job (its default maximum event age).
const rawTTL = 24 * time.Hour

// stompPool is one STOMP connection per worker, opened with go-stomp and
// no heart-beats: the plain client that the raw measurements use.
type stompPool struct {
	conns []*stomp.Conn
}

func dialStompPool(ctx context.Context, addr string, n int) (*stompPool, error) {
	p := &stompPool{}
	for range n {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("stomp: dial %s: %w", addr, err)
		}
		conn, err := stomp.Connect(nc, stomp.ConnOpt.HeartBeat(0, 0), stomp.ConnOpt.Host("localhost"))
		if err != nil {
			nc.Close()
			p.close()
			return nil, fmt.Errorf("stomp: connect %s: %w", addr, err)
		}
		p.conns = append(p.conns, conn)
	}
	return p, nil
}

func (p *stompPool) close() {
	for _, c := range p.conns {
		_ = c.Disconnect()
	}
}

// sendScheduled sends one persistent scheduled message and waits for the
// broker's RECEIPT, with the headers the product sends: exactly one
// scheduling header and an expiry.
func sendScheduled(conn *stomp.Conn, queue string, body []byte, cron string, delay time.Duration) error {
	opts := []func(*frame.Frame) error{
		stomp.SendOpt.Receipt,
		stomp.SendOpt.Header("persistent", "true"),
		stomp.SendOpt.Header("expires", strconv.FormatInt(time.Now().Add(rawTTL).UnixMilli(), 10)),
	}
	if cron != "" {
		opts = append(opts, stomp.SendOpt.Header("AMQ_SCHEDULED_CRON", cron))
	} else {
		opts = append(opts, stomp.SendOpt.Header("AMQ_SCHEDULED_DELAY", strconv.FormatInt(max(delay.Milliseconds(), 1), 10)))
	}
	return conn.Send("/queue/"+queue, "application/json", body, opts...)
}

// rawCreate measures the raw cost of one create without the API. Each
// operation writes a schedule-sized item with a conditional PutItem (one
// write, or two as the store does with its name lock) and sends one
// scheduled SEND with receipt. Each worker owns a STOMP connection.
func (e *benchEnv) rawCreate(ctx context.Context, n, concurrency, writes int) (createResult, error) {
	pool, err := dialStompPool(ctx, e.ep.STOMPAddr, concurrency)
	if err != nil {
		return createResult{}, err
	}
	defer pool.close()
	client := e.dynamoClient()
	queue := "bench.raw." + e.runID
	prefix := "raw" + randomHex(3) + "-"
	doc := rawDoc()

	res := runWorkers(ctx, n, concurrency, func(ctx context.Context, w, i int) error {
		id := prefix + strconv.Itoa(i)
		for k := range writes {
			_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:           &e.table,
				Item:                rawItem(id, k, doc),
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			if err != nil {
				return err
			}
		}
		body := []byte(`{"kind":"schedule","scheduleId":"` + id + `","version":1}`)
		return sendScheduled(pool.conns[w], queue, body, e.farCron(), 0)
	})
	return res, nil
}

// rawDoc returns the JSON document of a typical bench schedule, as the
// store writes it.
func rawDoc() string {
	now := time.Now().UTC()
	s := schedule.Schedule{
		ID: "abcdefghijklmnop", Owner: "bench", Name: "c12345",
		Target: schedule.Target{
			Topics: []string{"bench/0123abcd/api/12345"}, QoS: 1, Payload: benchPayload(12345),
		},
		ScheduleExpression: "17 5 12 3 *", ScheduleExpressionTimezone: "UTC",
		State: schedule.StateEnabled, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func rawItem(id string, k int, doc string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":      &types.AttributeValueMemberS{Value: "R#" + id + "#" + strconv.Itoa(k)},
		"sk":      &types.AttributeValueMemberS{Value: "R"},
		"gsi1pk":  &types.AttributeValueMemberS{Value: "O#bench-raw"},
		"gsi1sk":  &types.AttributeValueMemberS{Value: id + "#" + strconv.Itoa(k)},
		"doc":     &types.AttributeValueMemberS{Value: doc},
		"version": &types.AttributeValueMemberN{Value: "1"},
	}
}

// rawBurst is a burst of plain scheduled messages on a queue of their own,
// each naming an MQTT topic, and the consumer that publishes them.
type rawBurst struct {
	queue   string
	sendDur time.Duration
	stop    func()
	errs    chan error
}

// startRawBurst sends the n scheduled messages and starts the consumer. It
// uses a cron for instant at when useCron is set, and a delay otherwise.
func (e *benchEnv) startRawBurst(ctx context.Context, n int, at time.Time, useCron bool, prefix string) (*rawBurst, error) {
	rb := &rawBurst{queue: "bench.rawburst." + randomHex(4), errs: make(chan error, 1)}
	if err := e.startRawConsumer(rb); err != nil {
		return nil, err
	}
	pool, err := dialStompPool(ctx, e.ep.STOMPAddr, 4)
	if err != nil {
		rb.stop()
		return nil, err
	}
	defer pool.close()
	cron := ""
	if useCron {
		cron = fmt.Sprintf("%d %d * * *", at.Minute(), at.Hour())
	}
	res := runWorkers(ctx, n, len(pool.conns), func(_ context.Context, w, i int) error {
		return sendScheduled(pool.conns[w], rb.queue, []byte(prefix+strconv.Itoa(i)), cron, time.Until(at))
	})
	rb.sendDur = res.elapsed
	if res.errors > 0 {
		rb.stop()
		return nil, fmt.Errorf("raw burst: %d of %d sends failed: %w", res.errors, n, res.firstErr)
	}
	return rb, nil
}

// rawPayload has the size of a filled benchPayload.
const rawPayload = `{"cmd":"report","seq":12345,"at":"2026-12-04T17:00:00Z"}`

// startRawConsumer subscribes to rb.queue with client-individual acks and
// a prefetch of 1000, and publishes each message body's topic to MQTT.
func (e *benchEnv) startRawConsumer(rb *rawBurst) error {
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + e.ep.MQTTAddr).
		SetClientID("bench-rawpub-" + randomHex(4)).
		SetCleanSession(true).
		SetOrderMatters(false)
	pub := mqtt.NewClient(opts)
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("mqtt: connect raw publisher: %v", tok.Error())
	}
	pools, err := dialStompPool(context.Background(), e.ep.STOMPAddr, 1)
	if err != nil {
		pub.Disconnect(0)
		return err
	}
	conn := pools.conns[0]
	sub, err := conn.Subscribe("/queue/"+rb.queue, stomp.AckClientIndividual,
		stomp.SubscribeOpt.Header("activemq.prefetchSize", "1000"))
	if err != nil {
		pools.close()
		pub.Disconnect(0)
		return fmt.Errorf("stomp: subscribe %s: %w", rb.queue, err)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range sub.C {
			if m.Err != nil {
				select {
				case rb.errs <- m.Err:
				default:
				}
				return
			}
			tok := pub.Publish(string(m.Body), 1, false, rawPayload)
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok.Wait()
				_ = conn.Ack(m)
			}()
		}
	}()
	rb.stop = func() {
		_ = sub.Unsubscribe()
		<-done
		wg.Wait()
		pools.close()
		pub.Disconnect(100)
	}
	return nil
}
