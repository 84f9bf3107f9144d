// Package aibot is the WeCom smart-robot (智能机器人) channel in
// long-connection mode: the service dials wss://openws.work.weixin.qq.com,
// subscribes with the robot's bot_id and secret, and receives one-to-one
// and group @-messages and events over that socket, with no inbound URL.
//
// Frames are JSON {"cmd", "headers": {"req_id"}, "body"}; WeCom acks each
// frame the client sends with the same req_id and errcode/errmsg. Package
// aibottest is an in-process fake of the server.
//
// Choices worth knowing:
//   - One connection per robot. WeCom keeps only the newest connection and
//     sends the old one disconnected_event. With several replicas a shared
//     Locker elects the one that connects; the others retry the lock every
//     LockRetry and take over within LockTTL+LockRetry when the holder dies.
//     The holder keeps the lock while it backs off from failures, so a
//     refused secret is not retried by every replica in turn.
//   - disconnected_event: the client stops using the connection at once,
//     marks Status.Replaced and reconnects only after ReplacedBackoff and
//     only while it still holds the lock. Whoever replaced it is outside
//     the lock (another deployment, a developer's laptop); reconnecting at
//     once would start a tug of war that loses messages on both sides.
//   - A refused subscription (853000) waits RefusedBackoff (5 minutes), is
//     logged at error level and shown in Status until a subscription
//     succeeds.
//   - Callbacks reach the Handler one at a time, in arrival order, from one
//     goroutine that outlives reconnections. Replies may be sent from the
//     handler or from any other goroutine; each waits for its ack.
//   - Frames over MaxFrame, malformed frames, unknown commands and
//     callbacks for another robot are logged (without their bodies) and
//     skipped; the connection stays up.
package aibot
