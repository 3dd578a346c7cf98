/*
 * frame.h - the protocol's frames as the simulator's actors exchange them.
 *
 * One sim_frame is one WebSocket frame of docs/protocol.md (or the HTTP
 * post of a message), in the simulator's own terms: threads are the host's
 * thread indices (the host names them: "t3" of user u1 in the simulator,
 * "u1/t3" on the wire), messages and events are the oracle's ids
 * (sim/oracle.h; on the wire a message's `tag` is its id + 1, an event is
 * known by its (run, seq) and the control side's record of the emit).
 *
 *   client -> server: SIM_FRAME_CONNECT (the WebSocket upgrade),
 *     SIM_FRAME_AUTH (op auth), SIM_FRAME_MESSAGE (op message: thread,
 *     last_seq in `seq`, msg, the selection number in `req`),
 *     SIM_FRAME_SWITCH (op switch: thread, last_seq, req),
 *     SIM_FRAME_HTTP (POST /message: thread, msg);
 *   server -> client: SIM_FRAME_EVENT (op event: thread, seq, ev, CR_EVENT_*
 *     flags, for_view), SIM_FRAME_NOTICE (op notice: a cr_notice_kind,
 *     thread, req, msg for MESSAGE_REJECTED), SIM_FRAME_ACK (op ack: msg).
 */
#ifndef SIM_FRAME_H
#define SIM_FRAME_H

#include <stdint.h>

typedef enum sim_frame_kind {
    SIM_FRAME_CONNECT = 0,
    SIM_FRAME_AUTH,
    SIM_FRAME_MESSAGE,
    SIM_FRAME_SWITCH,
    SIM_FRAME_HTTP,
    SIM_FRAME_EVENT,
    SIM_FRAME_NOTICE,
    SIM_FRAME_ACK
} sim_frame_kind;

typedef struct sim_frame {
    uint8_t kind;     /* sim_frame_kind */
    uint8_t flags;    /* EVENT: CR_EVENT_* */
    uint8_t notice;   /* NOTICE: cr_notice_kind */
    uint8_t for_view; /* EVENT: sent on the binding the core had shown the connection */
    uint8_t binds;    /* MESSAGE, SWITCH: the tab counts on this frame giving its
                       * connection a thread (a connection given one must become
                       * READY: the stuck_pending count) */
    int32_t thread;   /* thread index, -1 none */
    uint32_t req;     /* MESSAGE, SWITCH, NOTICE: the tab's selection number */
    int64_t msg;      /* MESSAGE, HTTP, ACK, NOTICE (MESSAGE_REJECTED, else -1): oracle message */
    int64_t ev;       /* EVENT: oracle event */
    uint64_t seq;     /* EVENT: its stream seq; MESSAGE, SWITCH: last_seq */
} sim_frame;

#endif
