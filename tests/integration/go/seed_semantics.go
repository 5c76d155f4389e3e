// Seed 002's example, completed so it runs: two sarama SyncProducers, one
// at-most-once (RequiredAcks=NoResponse, no retries, sarama's default protocol
// version: legacy Produce v0 message sets) and one at-least-once made exactly
// once with Idempotent=true, plus what sarama itself demands for idempotence
// (Version >= V0_11_0_0, Net.MaxOpenRequests = 1).
//
// Usage: seed_semantics BOOTSTRAP TOPIC1 TOPIC2 COUNT
// Sends COUNT messages "t1-<i>" to TOPIC1 and "t2-<i>" to TOPIC2 (partition 0).
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/Shopify/sarama"
)

func createProducer(bootstrap string, allowLoss bool) sarama.SyncProducer {
	config := sarama.NewConfig()
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewManualPartitioner
	if allowLoss {
		// At-most-once semantics
		config.Producer.RequiredAcks = sarama.NoResponse
		config.Producer.Retry.Max = 0
	} else {
		// At-least-once semantics
		config.Producer.RequiredAcks = sarama.WaitForAll
		config.Producer.Retry.Max = 5
		config.Producer.Idempotent = true // For exactly-once
		config.Version = sarama.V0_11_0_0
		config.Net.MaxOpenRequests = 1
	}
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
	if err != nil {
		log.Fatalf("Failed to create producer: %v", err)
	}
	return producer
}

func main() {
	if len(os.Args) != 5 {
		log.Fatalf("usage: %s BOOTSTRAP TOPIC1 TOPIC2 COUNT", os.Args[0])
	}
	bootstrap, topic1, topic2 := os.Args[1], os.Args[2], os.Args[3]
	count, err := strconv.Atoi(os.Args[4])
	if err != nil {
		log.Fatalf("bad count: %v", err)
	}
	producer1 := createProducer(bootstrap, true)
	producer2 := createProducer(bootstrap, false)
	defer producer1.Close()
	defer producer2.Close()

	for i := 0; i < count; i++ {
		if _, _, err := producer1.SendMessage(&sarama.ProducerMessage{
			Topic: topic1, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("t1-%d", i))}); err != nil {
			log.Fatalf("Topic1 send %d: %v", i, err)
		}
		p, off, err := producer2.SendMessage(&sarama.ProducerMessage{
			Topic: topic2, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("t2-%d", i))})
		if err != nil {
			log.Fatalf("Topic2 send %d: %v", i, err)
		}
		if p != 0 || off != int64(i) {
			log.Fatalf("Topic2 message %d landed at partition %d offset %d", i, p, off)
		}
	}
	fmt.Printf("sent %d messages to each topic\n", count)
}
