// Package aibot is the WeCom smart-robot (智能机器人) channel in
// long-connection mode: the service dials wss://openws.work.weixin.qq.com,
// subscribes with the robot's bot_id and secret, and receives one-to-one
// and group @-messages and events over that socket, with no inbound URL.
//
// Frames are JSON {"cmd", "headers": {"req_id"}, "body"}; WeCom acks each
// frame the client sends with the same req_id and errcode/errmsg. The
// Client keeps one connection per robot (WeCom keeps only the newest one),
// elected through a shared Locker when several replicas run, hands
// callbacks to a Handler in order, and sends replies and pushes that wait
// for their ack. Package aibottest is an in-process fake of the server.
package aibot
