// Package automate turns automations that fired into durable deliveries: the key layout of
// the outbox, the timers and each visitor's automation memory, the delivery record the outbox
// holds, and the payloads of each destination format (Pathlight's envelope, the Segment spec,
// Meta's Conversions API, Google Ads click conversions). It is pure: the tracker writes what
// it builds in the same commit as the hit that fired, and package deliver sends it.
package automate
