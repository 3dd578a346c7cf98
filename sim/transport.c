/* transport.c - packets on per-connection FIFO channels (see transport.h). */
#include "sim/transport.h"

#include <stdlib.h>
#include <string.h>

#include "sim/grow.h"

int sim_transport_init(sim_transport *t, const sim_dist *uplink, const sim_dist *downlink,
                       uint32_t ntabs)
{
    memset(t, 0, sizeof *t);
    t->latency[SIM_UP] = uplink;
    t->latency[SIM_DOWN] = downlink;
    t->free = SIM_NO_PACKET;
    t->http = calloc(ntabs ? ntabs : 1, sizeof(sim_channel));
    if (!t->http)
        return -1;
    t->ntabs = ntabs;
    return 0;
}

void sim_transport_free(sim_transport *t)
{
    free(t->pkts);
    free(t->links);
    free(t->http);
    memset(t, 0, sizeof *t);
}

int sim_transport_link_new(sim_transport *t, uint32_t *id)
{
    if (sim_grow((void **)&t->links, &t->caplinks, t->nlinks + 1, sizeof(sim_link)))
        return -1;
    memset(&t->links[t->nlinks], 0, sizeof(sim_link));
    *id = (uint32_t)t->nlinks++;
    return 0;
}

uint32_t sim_transport_packet_new(sim_transport *t, const sim_frame *f)
{
    uint32_t i;
    if (t->free != SIM_NO_PACKET) {
        i = t->free;
        t->free = t->pkts[i].next;
    } else {
        if (sim_grow((void **)&t->pkts, &t->cappkts, t->npkts + 1, sizeof(sim_packet)))
            return SIM_NO_PACKET;
        i = (uint32_t)t->npkts++;
    }
    memset(&t->pkts[i], 0, sizeof(sim_packet));
    if (f)
        t->pkts[i].f = *f;
    return i;
}

sim_packet *sim_transport_packet(sim_transport *t, uint32_t p)
{
    return &t->pkts[p];
}

void sim_transport_packet_free(sim_transport *t, uint32_t p)
{
    t->pkts[p].next = t->free;
    t->free = p;
}

uint64_t sim_transport_latency(const sim_transport *t, sim_dir dir, sim_prng *rng)
{
    return sim_dist_sample_ns(t->latency[dir], rng);
}

uint64_t sim_transport_send_signal(sim_transport *t, uint32_t link, sim_dir dir, uint64_t now,
                                   sim_prng *rng)
{
    return sim_channel_send(&t->links[link].ch[dir], now, sim_transport_latency(t, dir, rng));
}

uint64_t sim_transport_send(sim_transport *t, uint32_t link, sim_dir dir, uint32_t p, uint64_t now,
                            sim_prng *rng)
{
    t->pkts[p].link = link;
    t->pkts[p].epoch = t->links[link].ch[dir].epoch;
    return sim_transport_send_signal(t, link, dir, now, rng);
}

uint64_t sim_transport_post(sim_transport *t, uint32_t tab, uint64_t now, sim_prng *rng)
{
    return sim_channel_send(&t->http[tab], now, sim_transport_latency(t, SIM_UP, rng));
}

void sim_transport_drop(sim_transport *t, uint32_t link, sim_dir dir)
{
    sim_channel_drop(&t->links[link].ch[dir]);
}

int sim_transport_current(const sim_transport *t, const sim_packet *pk, sim_dir dir)
{
    return pk->epoch == t->links[pk->link].ch[dir].epoch;
}
