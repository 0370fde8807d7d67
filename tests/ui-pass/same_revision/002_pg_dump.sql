-- A table as pg_dump writes it: the table, then its keys
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
CREATE TABLE public.orders (
    id bigint NOT NULL,
    team bigint,
    placed timestamp with time zone
);
CREATE SEQUENCE public.orders_id_seq START WITH 1 INCREMENT BY 1;
ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id;
ALTER TABLE ONLY public.orders ALTER COLUMN id SET DEFAULT nextval('public.orders_id_seq'::regclass);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
CREATE INDEX orders_placed ON public.orders USING btree (placed);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_team_fkey FOREIGN KEY (team) REFERENCES public.teams(id);

-- migrate:downgrade
DROP TABLE public.orders;
