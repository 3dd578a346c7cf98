/* test_transport.c - the simulated transport (sim/transport.h): packets
 * keep their order per channel whatever the drawn latencies, a drop loses
 * what was in flight on that channel only, the pool reuses freed packets,
 * HTTP posts have their own FIFO channel per tab. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"
#include "sim/prng.h"
#include "sim/scenario.h"
#include "sim/transport.h"

#define MS UINT64_C(1000000)

static sim_scenario *sc;
static sim_transport tr;
static sim_prng rng;

/* setup: uplink spread wide (later packets often draw shorter delays),
 * downlink constant. */
static void setup(void)
{
    static const char text[] = "version: 1\nname: tr\nsummary: transport\nhorizon: 10s\nusers: 1\n"
                               "network:\n  uplink: uniform(1ms, 100ms)\n  downlink: 7ms\n"
                               "server:\n  auth: 1ms\n  thread_lookup: 1ms\n  agent_start: 1ms\n"
                               "  agent_events: [a]\n  event_gap: 1ms\nclient:\n  - connect\n";
    sim_scenario_error err;
    ck_assert_msg(sim_scenario_load_string("tr.yaml", text, strlen(text), &sc, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(sim_transport_init(&tr, &sc->uplink, &sc->downlink, 2), 0);
    sim_prng_seed(&rng, 11);
}

static void teardown(void)
{
    sim_transport_free(&tr);
    sim_scenario_free(sc);
    sc = NULL;
}

START_TEST(test_transport_fifo_per_channel)
{
    uint32_t a, b;
    ck_assert_int_eq(sim_transport_link_new(&tr, &a), 0);
    ck_assert_int_eq(sim_transport_link_new(&tr, &b), 0);
    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, 1);
    uint64_t last = 0, forced = 0;
    for (uint64_t i = 0; i < 500; i++) {
        uint32_t p = sim_transport_packet_new(&tr, &(sim_frame){.kind = SIM_FRAME_MESSAGE});
        ck_assert_uint_ne(p, SIM_NO_PACKET);
        uint64_t now = i * MS;
        uint64_t at = sim_transport_send(&tr, a, SIM_UP, p, now, &rng);
        ck_assert_uint_gt(at, now);
        ck_assert_uint_gt(at, last); /* strictly after the previous arrival */
        ck_assert_uint_le(at - now, 100 * MS);
        forced += at == last + 1; /* its own delay would have overtaken */
        last = at;
        ck_assert_uint_eq(sim_transport_packet(&tr, p)->link, a);
        sim_transport_packet_free(&tr, p);
    }
    ck_assert_uint_gt(forced, 0); /* the FIFO rule mattered */
    /* The other link and the other direction are independent. */
    uint32_t q = sim_transport_packet_new(&tr, NULL);
    ck_assert_uint_eq(sim_transport_send(&tr, b, SIM_DOWN, q, 0, &rng), 7 * MS);
    ck_assert_uint_eq(sim_transport_send(&tr, a, SIM_DOWN, q, 0, &rng), 7 * MS);
    ck_assert_uint_eq(sim_transport_send(&tr, a, SIM_DOWN, q, 0, &rng), 7 * MS + 1);
}
END_TEST

START_TEST(test_transport_drop_loses_in_flight)
{
    uint32_t k;
    ck_assert_int_eq(sim_transport_link_new(&tr, &k), 0);
    uint32_t up = sim_transport_packet_new(&tr, NULL), down = sim_transport_packet_new(&tr, NULL);
    sim_transport_send(&tr, k, SIM_UP, up, 0, &rng);
    sim_transport_send(&tr, k, SIM_DOWN, down, 0, &rng);
    ck_assert_int_eq(sim_transport_current(&tr, sim_transport_packet(&tr, up), SIM_UP), 1);
    sim_transport_drop(&tr, k, SIM_DOWN);
    ck_assert_int_eq(sim_transport_current(&tr, sim_transport_packet(&tr, down), SIM_DOWN), 0);
    ck_assert_int_eq(sim_transport_current(&tr, sim_transport_packet(&tr, up), SIM_UP), 1);
    /* what is sent after the drop survives */
    uint32_t again = sim_transport_packet_new(&tr, NULL);
    sim_transport_send(&tr, k, SIM_DOWN, again, 1 * MS, &rng);
    ck_assert_int_eq(sim_transport_current(&tr, sim_transport_packet(&tr, again), SIM_DOWN), 1);
    /* a clean close travels behind the uplink's packets */
    uint64_t up_at = 0;
    for (int i = 0; i < 20; i++)
        up_at = sim_transport_send(&tr, k, SIM_UP, up, 2 * MS, &rng);
    ck_assert_uint_gt(sim_transport_send_signal(&tr, k, SIM_UP, 2 * MS, &rng), up_at);
}
END_TEST

START_TEST(test_transport_pool_reuses_packets)
{
    uint32_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = sim_transport_packet_new(&tr, &(sim_frame){.kind = SIM_FRAME_ACK, .msg = i});
    ck_assert_uint_eq(tr.npkts, 8);
    sim_transport_packet_free(&tr, p[3]);
    sim_transport_packet_free(&tr, p[5]);
    uint32_t a = sim_transport_packet_new(&tr, &(sim_frame){.kind = SIM_FRAME_EVENT, .ev = 9});
    uint32_t b = sim_transport_packet_new(&tr, NULL);
    ck_assert_uint_eq(tr.npkts, 8); /* both from the free list */
    ck_assert(a == p[5] && b == p[3]);
    ck_assert_int_eq(sim_transport_packet(&tr, a)->f.kind, SIM_FRAME_EVENT);
    ck_assert_int_eq(sim_transport_packet(&tr, a)->f.ev, 9);
    ck_assert_int_eq(sim_transport_packet(&tr, b)->f.msg, 0); /* zeroed, not the old ACK */
    ck_assert_int_eq(sim_transport_packet(&tr, p[4])->f.msg, 4);
}
END_TEST

START_TEST(test_transport_http_channel_per_tab)
{
    uint64_t last = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t at = sim_transport_post(&tr, 0, 0, &rng);
        ck_assert_uint_gt(at, last); /* FIFO on tab 0's channel */
        last = at;
    }
    /* Tab 1's channel is fresh: its post arrives after exactly its own delay. */
    sim_prng copy = rng;
    uint64_t d = sim_transport_latency(&tr, SIM_UP, &copy);
    ck_assert_uint_eq(sim_transport_post(&tr, 1, 0, &rng), d);
    ck_assert_uint_eq(sim_transport_latency(&tr, SIM_DOWN, &rng), 7 * MS);
}
END_TEST

static Suite *transport_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("channels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_transport_fifo_per_channel);
    tcase_add_test(tc, test_transport_drop_loses_in_flight);
    tcase_add_test(tc, test_transport_pool_reuses_packets);
    tcase_add_test(tc, test_transport_http_channel_per_tab);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(transport_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
