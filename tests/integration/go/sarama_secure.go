// sarama over TLS and SASL: produces COUNT records to TOPIC (partition 0)
// with a SyncProducer (acks=all), then reads them back from offset 0 with a
// PartitionConsumer and prints each value on a line.
//
// Usage: sarama_secure BOOTSTRAP TOPIC COUNT CA_PEM [MECHANISM USER PASSWORD | cert CLIENT_CRT CLIENT_KEY]
// MECHANISM is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_SSL); "cert"
// presents a client certificate (mutual TLS). Without either: SSL only.
//
// sarama leaves the SCRAM exchange to the application (its SCRAMClient
// interface); the client below is RFC 5802 with the standard library.
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"hash"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type scramClient struct {
	newHash             func() hash.Hash
	user, password      string
	clientNonce         string
	clientFirstBare     string
	serverSignature     []byte
	step                int
}

func (c *scramClient) hmac(key, data []byte) []byte {
	m := hmac.New(c.newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

func (c *scramClient) hi(password, salt []byte, iterations int) []byte {
	u := c.hmac(password, append(append([]byte{}, salt...), 0, 0, 0, 1))
	out := append([]byte{}, u...)
	for i := 1; i < iterations; i++ {
		u = c.hmac(password, u)
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func (c *scramClient) Begin(user, password, authzID string) error {
	c.user, c.password = user, password
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	c.clientNonce = base64.RawStdEncoding.EncodeToString(b)
	c.clientFirstBare = "n=" + user + ",r=" + c.clientNonce
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	c.step++
	switch c.step {
	case 1:
		return "n,," + c.clientFirstBare, nil
	case 2:
		attrs := map[string]string{}
		for _, kv := range strings.Split(challenge, ",") {
			if len(kv) > 2 && kv[1] == '=' {
				attrs[kv[:1]] = kv[2:]
			}
		}
		nonce, saltB64, iterS := attrs["r"], attrs["s"], attrs["i"]
		if !strings.HasPrefix(nonce, c.clientNonce) {
			return "", fmt.Errorf("server nonce does not extend ours")
		}
		salt, err := base64.StdEncoding.DecodeString(saltB64)
		if err != nil {
			return "", err
		}
		iterations, err := strconv.Atoi(iterS)
		if err != nil {
			return "", err
		}
		salted := c.hi([]byte(c.password), salt, iterations)
		clientKey := c.hmac(salted, []byte("Client Key"))
		h := c.newHash()
		h.Write(clientKey)
		storedKey := h.Sum(nil)
		withoutProof := "c=biws,r=" + nonce
		authMessage := c.clientFirstBare + "," + challenge + "," + withoutProof
		signature := c.hmac(storedKey, []byte(authMessage))
		proof := make([]byte, len(clientKey))
		for i := range clientKey {
			proof[i] = clientKey[i] ^ signature[i]
		}
		serverKey := c.hmac(salted, []byte("Server Key"))
		c.serverSignature = c.hmac(serverKey, []byte(authMessage))
		return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
	default:
		if !strings.HasPrefix(challenge, "v=") {
			return "", fmt.Errorf("server refused: %s", challenge)
		}
		v, err := base64.StdEncoding.DecodeString(challenge[2:])
		if err != nil || !hmac.Equal(v, c.serverSignature) {
			return "", fmt.Errorf("server signature does not match")
		}
		return "", nil
	}
}

func (c *scramClient) Done() bool { return c.step >= 3 }

func main() {
	if len(os.Args) < 5 {
		log.Fatalf("usage: %s BOOTSTRAP TOPIC COUNT CA_PEM [MECHANISM USER PASSWORD | cert CRT KEY]", os.Args[0])
	}
	bootstrap, topic, caFile := os.Args[1], os.Args[2], os.Args[4]
	count, err := strconv.Atoi(os.Args[3])
	if err != nil {
		log.Fatal(err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		log.Fatal("no CA certificate in " + caFile)
	}
	config := sarama.NewConfig()
	config.Version = sarama.V2_1_0_0
	config.Net.TLS.Enable = true
	config.Net.TLS.Config = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	config.Net.DialTimeout = 10 * time.Second
	config.Producer.Return.Successes = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Partitioner = sarama.NewManualPartitioner
	if len(os.Args) >= 8 && os.Args[5] == "cert" {
		pair, err := tls.LoadX509KeyPair(os.Args[6], os.Args[7])
		if err != nil {
			log.Fatal(err)
		}
		config.Net.TLS.Config.Certificates = []tls.Certificate{pair}
	} else if len(os.Args) >= 8 {
		mechanism := os.Args[5]
		config.Net.SASL.Enable = true
		config.Net.SASL.Handshake = true
		config.Net.SASL.User, config.Net.SASL.Password = os.Args[6], os.Args[7]
		switch mechanism {
		case "PLAIN":
			config.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			config.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			config.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{newHash: sha256.New} }
		case "SCRAM-SHA-512":
			config.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			config.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{newHash: sha512.New} }
		default:
			log.Fatalf("unknown mechanism %s", mechanism)
		}
	}
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
	if err != nil {
		log.Fatalf("producer: %v", err)
	}
	for i := 0; i < count; i++ {
		msg := &sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("sarama-%d", i))}
		if _, _, err := producer.SendMessage(msg); err != nil {
			log.Fatalf("send %d: %v", i, err)
		}
	}
	producer.Close()
	consumer, err := sarama.NewConsumer([]string{bootstrap}, config)
	if err != nil {
		log.Fatalf("consumer: %v", err)
	}
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		log.Fatalf("consume: %v", err)
	}
	deadline := time.After(30 * time.Second)
	for got := 0; got < count; got++ {
		select {
		case m := <-pc.Messages():
			fmt.Println(string(m.Value))
		case e := <-pc.Errors():
			log.Fatalf("consume: %v", e)
		case <-deadline:
			log.Fatalf("only %d of %d records read back", got, count)
		}
	}
	pc.Close()
	consumer.Close()
}
